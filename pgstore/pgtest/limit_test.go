package pgtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/pgstore"
)

// testConcurrentLinks links 32 sessions of one user at once, half through
// each of two stores with their own pools (as two app instances would),
// under a limit of 3, refusing and then evicting: the user ends with
// exactly 3 linked sessions either way.
func testConcurrentLinks(t *testing.T, s1, s2 *pgstore.Store) {
	for _, evict := range []bool{false, true} {
		ctx := context.Background()
		now := time.Now()
		const n, limit = 32, 3
		user := "user-" + newID()
		ids := make([]string, n)
		for i := range ids {
			rec := newRecord(now.Add(-time.Duration(n-i)*time.Minute), "")
			if err := s1.Create(ctx, rec); err != nil {
				t.Fatal(err)
			}
			ids[i] = rec.ID
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, id := range ids {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			wg.Go(func() {
				<-start
				_, errs[i] = s.LinkUser(ctx, id, user, limit, evict, now)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !evict && errors.Is(err, sessionkit.ErrTooManySessions):
			case evict && errors.Is(err, sessionkit.ErrNotFound): // evicted before its own link ran
			default:
				t.Fatalf("LinkUser(evict %v) = %v", evict, err)
			}
		}
		list, err := s1.ListByUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != limit || !evict && ok != limit {
			t.Fatalf("evict %v: %d links succeeded and the user has %d sessions after %d concurrent links; want %d", evict, ok, len(list), n, limit)
		}
	}
}
