package mongostore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Iterate keeps the query of an iteration open between pages, so that an
// iteration costs one query rather than one per page. On MongoDB a page
// query is cheap anyway (a range of the _id index), but FerretDB v1
// answers a range or a sort by reading, decoding and sorting the whole
// collection: paging through n sessions with a query per page read n²/limit
// documents, which made exporting 100,000 sessions take hours.
//
// The cursor string of a page is "<token>.<last ID, base64url>", where the
// token identifies the iteration. The Store keeps the open query under the
// cursor string it returned, which names the query and its position; when
// the Store does not have it (another instance served the last page, a
// restart, an idle query closed), or the server lost the query, Iterate
// resumes with a new query for the IDs after the last one, so an iteration
// never depends on the open query.
const (
	// maxOpenQueries bounds the queries kept open between pages; opening
	// one more closes the one idle longest.
	maxOpenQueries = 16
	// openQueryIdle is how long a query is kept open without a next page.
	openQueryIdle = time.Minute
	// closeTimeout bounds the closing of an open query.
	closeTimeout = 5 * time.Second
)

// openQuery is an iteration's query, kept open between pages.
type openQuery struct {
	cur    *mongo.Cursor
	parked time.Time
}

// openQueries holds the open queries of a Store by the cursor string of
// their next page.
type openQueries struct {
	mu sync.Mutex
	m  map[string]openQuery
}

// take removes and returns the query whose next page cursor names, if it
// is open.
func (q *openQueries) take(cursor string) (*mongo.Cursor, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	oq, ok := q.m[cursor]
	delete(q.m, cursor)
	return oq.cur, ok
}

// park keeps cur open under cursor, and closes the queries idle for
// openQueryIdle and, past maxOpenQueries, the one idle longest.
func (q *openQueries) park(cursor string, cur *mongo.Cursor) {
	now := time.Now()
	var stale []*mongo.Cursor
	q.mu.Lock()
	if q.m == nil {
		q.m = make(map[string]openQuery)
	}
	for t, oq := range q.m {
		if now.Sub(oq.parked) > openQueryIdle {
			stale = append(stale, oq.cur)
			delete(q.m, t)
		}
	}
	if len(q.m) >= maxOpenQueries {
		oldest := ""
		for t, oq := range q.m {
			if oldest == "" || oq.parked.Before(q.m[oldest].parked) {
				oldest = t
			}
		}
		stale = append(stale, q.m[oldest].cur)
		delete(q.m, oldest)
	}
	q.m[cursor] = openQuery{cur: cur, parked: now}
	q.mu.Unlock()
	for _, c := range stale {
		closeQuery(c)
	}
}

// closeAll closes every open query.
func (q *openQueries) closeAll() {
	q.mu.Lock()
	m := q.m
	q.m = nil
	q.mu.Unlock()
	for _, oq := range m {
		closeQuery(oq.cur)
	}
}

// closeQuery closes cur; a failure leaves the server to time it out.
func closeQuery(cur *mongo.Cursor) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = cur.Close(ctx)
}

// parseCursor splits an Iterate cursor into the token of its open query
// and the last ID of the previous page.
func parseCursor(cursor string) (token, after string, err error) {
	token, enc, ok := strings.Cut(cursor, ".")
	if !ok || token == "" {
		return "", "", fmt.Errorf("mongostore: iterate: malformed cursor %q", cursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", "", fmt.Errorf("mongostore: iterate: malformed cursor %q", cursor)
	}
	return token, string(b), nil
}

// Iterate implements sessionkit.Iterator. Pages are in ID order and hold
// sessions whatever their expiry. A limit of zero or less means 100. The
// query stays open in the Store between the pages of an iteration for up
// to a minute; the cursor holds the last ID of the page as well, so an
// iteration continues on any Store.
func (s *Store) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	if limit <= 0 {
		limit = defaultPageSize
	}
	token, after := "", ""
	if cursor != "" {
		var err error
		if token, after, err = parseCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	cur, ok := s.queries.take(cursor)
	if ok {
		page, err := readPage(ctx, cur, limit)
		if err == nil {
			return s.pageOf(cur, token, page, limit)
		}
		closeQuery(cur)
		if ctx.Err() != nil {
			return nil, "", wrap(ctx, "iterate", err)
		}
		// The server lost the query: resume after the last ID.
	}
	filter := bson.D{}
	if cursor != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	opts := options.Find().
		SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetBatchSize(int32(min(limit, 1<<20))).
		SetProjection(infoProjection)
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, "", wrap(ctx, "iterate", err)
	}
	page, err := readPage(ctx, cur, limit)
	if err != nil {
		closeQuery(cur)
		return nil, "", wrap(ctx, "iterate", err)
	}
	if token == "" {
		token = rand.Text()
	}
	return s.pageOf(cur, token, page, limit)
}

// pageOf returns page and the cursor of the next one, keeping cur open
// under that cursor when the page is full and closing it otherwise.
func (s *Store) pageOf(cur *mongo.Cursor, token string, page []sessionkit.SessionInfo, limit int) ([]sessionkit.SessionInfo, string, error) {
	if len(page) < limit {
		closeQuery(cur)
		return page, "", nil
	}
	next := token + "." + base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].ID))
	s.queries.park(next, cur)
	return page, next, nil
}

// readPage reads up to limit sessions from cur.
func readPage(ctx context.Context, cur *mongo.Cursor, limit int) ([]sessionkit.SessionInfo, error) {
	var page []sessionkit.SessionInfo
	for len(page) < limit && cur.Next(ctx) {
		var d document
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		page = append(page, d.info())
	}
	if err := cur.Err(); err != nil {
		return nil, err
	}
	return page, nil
}
