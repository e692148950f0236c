package sessiontest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// removerChecks are the behaviours of sessionkit.Remover, run as subtests
// of Remover for stores that implement it.
var removerChecks = []capabilityCheck[sessionkit.Remover]{
	{"RemoveOnce", checkRemoveOnce},
	{"RemoveMissing", checkRemoveMissing},
	{"ConcurrentRemoves", checkConcurrentRemoves},
	{"CanceledContext", checkRemoveCanceledContext},
}

// checkRemoveOnce checks that Remove deletes a record and reports true,
// and that a second Remove of it reports false, with no error, and that
// the record stays deleted.
func checkRemoveOnce(t *testing.T, st sessionkit.Store, r sessionkit.Remover) {
	user := "user-" + randomID(t)
	rec := createAged(t, st, user, 0)
	if removed, err := r.Remove(ctx(t), rec.ID); !removed || err != nil {
		t.Fatalf("Remove = %v, %v; want true, nil", removed, err)
	}
	if got, err := st.Load(ctx(t), rec.ID); got != nil || err != nil {
		t.Fatalf("Load after Remove = %v, %v; want nil, nil", got, err)
	}
	if removed, err := r.Remove(ctx(t), rec.ID); removed || err != nil {
		t.Fatalf("second Remove = %v, %v; want false, nil", removed, err)
	}
	n := now()
	d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, LastSeen: n, ExpiresAt: n.Add(time.Hour)}
	if err := st.Update(ctx(t), rec.ID, d); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Update after Remove = %v; want ErrNotFound", err)
	}
	if idx, ok := st.(sessionkit.UserIndex); ok {
		if list, _ := idx.ListByUser(ctx(t), user); len(list) != 0 {
			t.Fatalf("ListByUser after Remove = %v; want none", ids(list))
		}
	}
}

// checkRemoveMissing checks that Remove of an ID that names no record,
// hostile ones included, reports false with no error and harms no other
// record.
func checkRemoveMissing(t *testing.T, st sessionkit.Store, r sessionkit.Remover) {
	victim := createAged(t, st, "", 0)
	for _, id := range append([]string{randomID(t)}, hostileIDs...) {
		if removed, err := r.Remove(ctx(t), id); removed || err != nil {
			t.Errorf("Remove(%s) = %v, %v; want false, nil", quote(id), removed, err)
		}
	}
	if got, _ := st.Load(ctx(t), victim.ID); got == nil {
		t.Fatal("Remove of other IDs deleted a session")
	}
}

// checkConcurrentRemoves checks that of concurrent Removes of one record,
// as instances ending one session at once make, exactly one reports true.
func checkConcurrentRemoves(t *testing.T, st sessionkit.Store, r sessionkit.Remover) {
	const n = 8
	for range 5 {
		rec := createAged(t, st, "", 0)
		var wg sync.WaitGroup
		results := make(chan bool, n)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				removed, err := r.Remove(ctx(t), rec.ID)
				if err != nil {
					t.Errorf("Remove: %v", err)
				}
				results <- removed
			})
		}
		close(start)
		wg.Wait()
		close(results)
		trues := 0
		for removed := range results {
			if removed {
				trues++
			}
		}
		if trues != 1 {
			t.Fatalf("%d concurrent Removes of one record reported true %d times; want exactly once", n, trues)
		}
	}
}

// checkRemoveCanceledContext checks that Remove called with a context that
// has ended fails with the context's error, not ErrUnavailable, and
// removes nothing.
func checkRemoveCanceledContext(t *testing.T, st sessionkit.Store, r sessionkit.Remover) {
	rec := createAged(t, st, "", 0)
	for _, c := range endedContexts(t) {
		removed, err := r.Remove(c.ctx, rec.ID)
		wantDone(t, "Remove", err, c.err)
		if removed {
			t.Error("Remove with an ended context reported a removal along with its error")
		}
	}
	if got, _ := st.Load(ctx(t), rec.ID); got == nil {
		t.Fatal("Remove with an ended context removed the record")
	}
}
