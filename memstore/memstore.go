// Package memstore is an in-memory sessionkit.Store for a single process:
// tests, development, and apps that can lose their sessions on restart.
//
// Records are kept in a sharded map. The store has no clock: Load,
// ListByUser and Iterate return records whatever their ExpiresAt, and the
// manager decides by its own clock whether they are alive. A background
// goroutine removes the records whose ExpiresAt passed by the real clock
// more than Options.KeepExpired ago, as garbage collection, so that
// sessionkit's Manager.Sweep finds the expired ones first and reports
// them; Close stops it. The store implements sessionkit.UserIndex,
// sessionkit.Iterator, sessionkit.SessionLimiter and sessionkit.Remover.
//
// A call whose context is already done returns the context's error and
// changes nothing. Once a call has started it runs to completion: every
// call is short and never waits for anything but the store's own locks.
package memstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cleanup"
	"github.com/sessionkit/sessionkit/internal/recordcodec"
)

const shards = 64

// Options configures a Store.
type Options struct {
	// CleanupInterval is how often records whose ExpiresAt has passed are
	// removed (default 1 minute). A negative value turns the cleanup
	// goroutine off; such records are then removed when the manager loads
	// or sweeps them, or by DeleteExpired.
	CleanupInterval time.Duration
	// KeepExpired is how long a record stays after its ExpiresAt before
	// the cleanup removes it; Load, ListByUser and Iterate return it
	// meanwhile (default sessionkit.DefaultKeepExpired). A negative value
	// keeps nothing.
	KeepExpired time.Duration
}

// Store is an in-memory session store. Create it with New and stop it with
// Close.
type Store struct {
	seed   maphash.Seed
	shards [shards]shard

	umu   sync.Mutex
	users map[string]map[string]struct{} // user ID -> record IDs

	// lmu serialises LinkUser, so that two links of one user cannot both
	// count the same room.
	lmu sync.Mutex

	keep    time.Duration // Options.KeepExpired, at least 0
	cleanup *cleanup.Loop
}

type shard struct {
	mu   sync.RWMutex
	recs map[string]*entry
}

// New returns a Store and starts its cleanup goroutine.
func New(opts Options) *Store {
	s := &Store{seed: maphash.MakeSeed(), users: make(map[string]map[string]struct{}), keep: cleanup.KeepExpired(opts.KeepExpired)}
	for i := range s.shards {
		s.shards[i].recs = make(map[string]*entry)
	}
	interval := opts.CleanupInterval
	if interval == 0 {
		interval = time.Minute
	}
	s.cleanup = cleanup.Start(interval, time.Minute, func(context.Context) error {
		s.DeleteExpired()
		return nil
	}, nil)
	return s
}

// Close stops the cleanup goroutine and waits for it. The store stays
// usable.
func (s *Store) Close() error {
	s.cleanup.Stop()
	return nil
}

// DeleteExpired removes every record whose ExpiresAt passed by the real
// clock more than Options.KeepExpired ago and returns how many it removed.
// The cleanup goroutine calls it.
func (s *Store) DeleteExpired() int {
	now := time.Now().Add(-s.keep)
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for id, r := range sh.recs {
			if !r.live(now) {
				delete(sh.recs, id)
				s.unindex(r.UserID, id)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

func (s *Store) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%shards]
}

// Load implements sessionkit.Store.
func (s *Store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := s.shard(id)
	sh.mu.RLock()
	e := sh.recs[id]
	sh.mu.RUnlock()
	if e == nil {
		return nil, nil
	}
	return e.shared(id), nil // nil for a corrupt entry: not found
}

// Create implements sessionkit.Store. A record whose ExpiresAt has passed
// by the real clock does not hold its ID: Create replaces it.
func (s *Store) Create(ctx context.Context, rec *sessionkit.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(rec.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.recs[rec.ID]; ok && old.live(time.Now()) {
		return sessionkit.ErrExists
	} else if ok {
		s.unindex(old.UserID, rec.ID)
	}
	sh.recs[rec.ID] = newEntry(rec)
	s.index(rec.UserID, rec.ID)
	return nil
}

// Update implements sessionkit.Store.
func (s *Store) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	return s.modify(ctx, id, func(r *sessionkit.Record) { d.Apply(r) })
}

// Touch implements sessionkit.Store.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	return s.modify(ctx, id, func(r *sessionkit.Record) { r.LastSeen, r.ExpiresAt = lastSeen, expiresAt })
}

// modify replaces the entry id with its record changed by f. f may change
// the record's fields and its Values map, not Meta nor a value's bytes (see
// entry.editable).
func (s *Store) modify(ctx context.Context, id string, f func(*sessionkit.Record)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.recs[id]
	if !ok {
		return sessionkit.ErrNotFound
	}
	rec := r.editable(id)
	if rec == nil {
		return sessionkit.ErrNotFound
	}
	f(rec)
	sh.recs[id] = newEntry(rec)
	if rec.UserID != r.UserID {
		s.unindex(r.UserID, id)
		s.index(rec.UserID, id)
	}
	return nil
}

// Delete implements sessionkit.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.delete(id)
	return nil
}

// Remove implements sessionkit.Remover.
func (s *Store) Remove(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return s.delete(id), nil
}

// delete removes the record id, if any, and reports whether there was one.
func (s *Store) delete(id string) bool {
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.recs[id]
	if ok {
		delete(sh.recs, id)
		s.unindex(r.UserID, id)
	}
	return ok
}

func (s *Store) index(user, id string) {
	if user == "" {
		return
	}
	s.umu.Lock()
	defer s.umu.Unlock()
	set := s.users[user]
	if set == nil {
		set = make(map[string]struct{})
		s.users[user] = set
	}
	set[id] = struct{}{}
}

func (s *Store) unindex(user, id string) {
	if user == "" {
		return
	}
	s.umu.Lock()
	defer s.umu.Unlock()
	if set := s.users[user]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(s.users, user)
		}
	}
}

func (s *Store) userIDs(user string) []string {
	s.umu.Lock()
	defer s.umu.Unlock()
	ids := make([]string, 0, len(s.users[user]))
	for id := range s.users[user] {
		ids = append(ids, id)
	}
	return ids
}

// ListByUser implements sessionkit.UserIndex.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]sessionkit.SessionInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.list(userID), nil
}

// list returns the sessions of userID, oldest first, whatever their expiry.
func (s *Store) list(userID string) []sessionkit.SessionInfo {
	var list []sessionkit.SessionInfo
	for _, id := range s.userIDs(userID) {
		sh := s.shard(id)
		sh.mu.RLock()
		if r, ok := sh.recs[id]; ok && r.UserID == userID {
			if rec := r.record(id); rec != nil {
				list = append(list, rec.Info())
			}
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(list, func(a, b sessionkit.SessionInfo) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return list
}

// DeleteByUser implements sessionkit.UserIndex. The records it deletes
// whose ExpiresAt has passed by the real clock are not counted.
func (s *Store) DeleteByUser(ctx context.Context, userID string, except ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := time.Now()
	n := 0
	for _, id := range s.userIDs(userID) {
		if slices.Contains(except, id) {
			continue
		}
		sh := s.shard(id)
		sh.mu.Lock()
		if r, ok := sh.recs[id]; ok && r.UserID == userID {
			delete(sh.recs, id)
			s.unindex(userID, id)
			if r.live(now) {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// LinkUser implements sessionkit.SessionLimiter. Links are serialised
// store-wide; the count and the evictions judge expiry by now.
func (s *Store) LinkUser(ctx context.Context, id, userID string, limit int, evict bool, now time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	sh := s.shard(id)
	sh.mu.RLock()
	r, ok := sh.recs[id]
	sh.mu.RUnlock()
	if !ok || !r.live(now) {
		return nil, sessionkit.ErrNotFound
	}
	var others []sessionkit.SessionInfo
	for _, info := range s.list(userID) {
		if info.ID != id && info.ExpiresAt.After(now) {
			others = append(others, info)
		}
	}
	excess := len(others) - (limit - 1)
	if excess > 0 && !evict {
		return nil, sessionkit.ErrTooManySessions
	}
	if err := s.modify(ctx, id, func(r *sessionkit.Record) { r.UserID = userID }); err != nil {
		return nil, err
	}
	var evicted []string
	for _, info := range others[:max(excess, 0)] {
		s.delete(info.ID)
		evicted = append(evicted, info.ID)
	}
	return evicted, nil
}

// Iterate implements sessionkit.Iterator. The cursor names a shard and the
// last ID returned from it; pages hold at most limit entries.
func (s *Store) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 100
	}
	i, after := 0, ""
	if cursor != "" {
		n, rest, _ := strings.Cut(cursor, ":")
		var err error
		if i, err = strconv.Atoi(n); err != nil || i < 0 || i >= shards {
			return nil, "", errInvalidCursor
		}
		after = rest
	}
	for ; i < shards; i, after = i+1, "" {
		sh := &s.shards[i]
		var page []sessionkit.SessionInfo
		sh.mu.RLock()
		for id, r := range sh.recs {
			if id > after {
				if rec := r.record(id); rec != nil {
					page = append(page, rec.Info())
				}
			}
		}
		sh.mu.RUnlock()
		if len(page) == 0 {
			continue
		}
		slices.SortFunc(page, func(a, b sessionkit.SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
		if len(page) > limit {
			page = page[:limit]
			return page, strconv.Itoa(i) + ":" + page[limit-1].ID, nil
		}
		if i+1 == shards {
			return page, "", nil
		}
		return page, strconv.Itoa(i + 1), nil
	}
	return nil, "", nil
}

// Len returns the number of records held, expired ones not yet removed
// included.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.RLock()
		n += len(s.shards[i].recs)
		s.shards[i].mu.RUnlock()
	}
	return n
}

var errInvalidCursor = errors.New("memstore: invalid cursor")

// entry is a record as the store keeps it: under 200 bytes of overhead per
// session (the record itself encoded with recordcodec, without its ID, which
// is the map key) instead of the 900 of a *sessionkit.Record with two maps.
// An entry is never modified: a change replaces it. Load decodes it once and
// hands the decoded record to every later Load (the contract forbids callers
// to modify it), so only sessions read since their last write carry a
// decoded copy.
type entry struct {
	data    []byte // recordcodec encoding, ID left out
	UserID  string
	expires int64 // ExpiresAt in Unix nanoseconds
	decoded atomic.Pointer[sessionkit.Record]
}

func newEntry(rec *sessionkit.Record) *entry {
	c := *rec
	c.ID = ""
	// Encoding on the stack and keeping an exact copy takes one allocation
	// instead of one per doubling of the buffer, and wastes no capacity.
	var buf [entryBuffer]byte
	data := bytes.Clone(recordcodec.Append(buf[:0], time.Time{}, &c))
	return &entry{data: data, UserID: rec.UserID, expires: rec.ExpiresAt.UnixNano()}
}

// entryBuffer is the stack buffer of newEntry: room for a typical record;
// a larger one grows on the heap.
const entryBuffer = 512

func (e *entry) live(now time.Time) bool { return now.UnixNano() < e.expires }

// record decodes the entry into a record of the caller's own. Its values
// are slices of e.data, which is never modified. It returns nil for an
// entry that does not decode, which only a bug in this package could write.
func (e *entry) record(id string) *sessionkit.Record {
	rec, _, ok := recordcodec.Parse(e.data)
	if !ok {
		return nil
	}
	rec.ID = id
	return rec
}

// editable returns a record of the caller's own for modify: a copy of the
// record a Load decoded, with a Values map of its own (cheaper than decoding
// again, as a write usually follows the Load of its request), or else a
// fresh decode. Its Meta map and value bytes may be shared: modify's callers
// change neither.
func (e *entry) editable(id string) *sessionkit.Record {
	shared := e.decoded.Load()
	if shared == nil {
		return e.record(id)
	}
	rec := *shared
	rec.Values = maps.Clone(shared.Values)
	return &rec
}

// shared returns the decoded record shared by every Load of the entry,
// decoding it on the first. Two Loads that race may both decode; either
// copy is the same record.
func (e *entry) shared(id string) *sessionkit.Record {
	if rec := e.decoded.Load(); rec != nil {
		return rec
	}
	rec := e.record(id)
	if rec != nil {
		e.decoded.Store(rec)
	}
	return rec
}
