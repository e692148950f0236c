package redissuite

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redislayout"
)

// LimitStore is a native-layout store with a user index and a session
// limit.
type LimitStore interface {
	sessionkit.Store
	sessionkit.UserIndex
	sessionkit.SessionLimiter
}

// RunLimit checks the session limit of the native layout beyond the
// conformance suite. It checks what an instance that stops in the middle
// of LinkUser leaves behind: it runs the decision script of redislayout by
// hand, as an instance would before it stops, and then checks that the
// user never has more linked sessions than the limit, that the next
// LinkUser finishes the eviction the stopped one decided, and that a link
// left in flight fails once a later link evicted its session. It also
// checks that a renewal (a Create that carries the user) counts, and that
// listings running during concurrent links, which drop index entries they
// find unlinked, never let the links exceed the limit. newStore returns
// the store under test on the standalone server at addr, with prefix as
// its key prefix.
func RunLimit(t *testing.T, newStore func(t *testing.T, addr, prefix string) LimitStore) {
	r := testserver.StartRedis(t)
	prefix := "sklimit:" + randomHex(4) + ":"
	st := newStore(t, r.Addr, prefix)
	layout, err := redislayout.New(prefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Now()
	create := func(user string, age time.Duration) *sessionkit.Record {
		t.Helper()
		rec := &sessionkit.Record{
			ID: randomHex(16), UserID: user, CreatedAt: now.Add(-age), LastSeen: now,
			ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(24 * time.Hour),
		}
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// decide runs the decision of LinkUser for rec, and nothing after it.
	decide := func(user string, rec *sessionkit.Record, max int, evict bool) []string {
		t.Helper()
		bound := redislayout.IndexScore(rec.ExpiresAt, rec.AbsoluteExpiry)
		args := append([]string{"EVAL", redislayout.LimitScript, "2"}, layout.LimitKeys(user)...)
		args = append(args, strconv.FormatInt(now.UnixMilli(), 10), strconv.Itoa(max), map[bool]string{true: "1", false: "0"}[evict],
			rec.ID, strconv.FormatInt(bound.UnixMilli(), 10), strconv.FormatInt(rec.CreatedAt.UnixNano(), 10), "0")
		reply, err := testserver.RedisDo(r.Addr, args...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(reply, "\n")
	}
	linked := func(user string, recs ...*sessionkit.Record) (ids []string) {
		t.Helper()
		for _, rec := range recs {
			got, err := st.Load(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != nil && got.UserID == user {
				ids = append(ids, rec.ID)
			}
		}
		return ids
	}

	t.Run("StoppedAfterDecision", func(t *testing.T) {
		user := "user-" + randomHex(8)
		a, b, c := create(user, 3*time.Hour), create(user, 2*time.Hour), create(user, time.Hour)
		d, e := create("", 0), create("", 0)
		// An instance decides to evict a for d and stops: a is still
		// linked, d not yet.
		if got := decide(user, d, 3, true); !slices.Equal(got, []string{"1", "1", a.ID}) {
			t.Fatalf("decision = %q; want a marked", got)
		}
		if got := linked(user, a, b, c, d, e); len(got) != 3 {
			t.Fatalf("after the stop the user has %d linked sessions; want 3", len(got))
		}
		// The next link ends a, as the stopped one decided, and evicts b
		// for itself, since d's place stays taken.
		ev, err := st.LinkUser(ctx, e.ID, user, 3, true, now)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ev)
		if want := slices.Sorted(slices.Values([]string{a.ID, b.ID})); !slices.Equal(ev, want) {
			t.Fatalf("LinkUser evicted %v; want %v", ev, want)
		}
		if got := linked(user, a, b, c, d, e); !slices.Equal(got, []string{c.ID, e.ID}) {
			t.Fatalf("linked sessions %v; want c and e", got)
		}
		// d's own link, retried, takes its place; a fourth is refused.
		if _, err := st.LinkUser(ctx, d.ID, user, 3, false, now); err != nil {
			t.Fatalf("retried link of d = %v", err)
		}
		f := create("", 0)
		if _, err := st.LinkUser(ctx, f.ID, user, 3, false, now); !errors.Is(err, sessionkit.ErrTooManySessions) {
			t.Fatalf("a fourth link = %v; want ErrTooManySessions", err)
		}
		if got := linked(user, a, b, c, d, e, f); len(got) != 3 {
			t.Fatalf("the user has %d linked sessions; want 3", len(got))
		}
	})

	t.Run("LinkInFlightEvicted", func(t *testing.T) {
		user := "user-" + randomHex(8)
		// x, the oldest, is admitted but its user ID not written yet.
		x, y := create("", 2*time.Hour), create(user, time.Hour)
		if got := decide(user, x, 2, true); !slices.Equal(got, []string{"1", "0"}) {
			t.Fatalf("decision = %q; want admitted", got)
		}
		// A link under a limit of 2 evicts x, the oldest.
		z := create("", 0)
		ev, err := st.LinkUser(ctx, z.ID, user, 2, true, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != 0 {
			t.Fatalf("LinkUser reported %v deleted; x was not linked yet", ev)
		}
		// x's instance resumes and writes the user ID: it must fail.
		reply, err := testserver.RedisDo(r.Addr, "EVAL", redislayout.LinkScript, "1", layout.SessionKey(x.ID), "", user)
		if err != nil {
			t.Fatal(err)
		}
		if reply != "" {
			t.Fatal("the link of an evicted session went through")
		}
		if got := linked(user, x, y, z); !slices.Equal(got, []string{y.ID, z.ID}) {
			t.Fatalf("linked sessions %v; want y and z", got)
		}
	})

	t.Run("RenewalCounted", func(t *testing.T) {
		user := "user-" + randomHex(8)
		a, b, c := create(user, 3*time.Hour), create(user, 2*time.Hour), create(user, time.Hour)
		// c is renewed: a new session carries the user, then c goes.
		renewed := create(user, 0)
		if err := st.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		d := create("", 0)
		if _, err := st.LinkUser(ctx, d.ID, user, 3, false, now); !errors.Is(err, sessionkit.ErrTooManySessions) {
			t.Fatalf("LinkUser after a renewal at the limit = %v; want ErrTooManySessions", err)
		}
		if got := linked(user, a, b, c, renewed, d); len(got) != 3 {
			t.Fatalf("the user has %d linked sessions; want 3", len(got))
		}
	})

	t.Run("ListingDuringLinks", func(t *testing.T) {
		const n, limit = 16, 3
		user := "user-" + randomHex(8)
		recs := make([]*sessionkit.Record, n)
		for i := range recs {
			recs[i] = create("", time.Duration(n-i)*time.Minute)
		}
		done := make(chan struct{})
		var listers sync.WaitGroup
		for range 4 {
			listers.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if _, err := st.ListByUser(ctx, user); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		var links sync.WaitGroup
		for i, rec := range recs {
			links.Go(func() {
				_, err := st.LinkUser(ctx, rec.ID, user, limit, i%2 == 0, now)
				if err != nil && !errors.Is(err, sessionkit.ErrTooManySessions) && !errors.Is(err, sessionkit.ErrNotFound) {
					t.Error(err)
				}
			})
		}
		links.Wait()
		close(done)
		listers.Wait()
		if got := linked(user, recs...); len(got) > limit {
			t.Fatalf("the user has %d linked sessions after %d links under a limit of %d", len(got), n, limit)
		}
		list, err := st.ListByUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if got := linked(user, recs...); len(list) != len(got) {
			t.Fatalf("ListByUser lists %d sessions; %d are linked", len(list), len(got))
		}
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
