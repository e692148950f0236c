package sessiontest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// limiterChecks are the behaviours of sessionkit.SessionLimiter, run as
// subtests of SessionLimiter for stores that implement it.
var limiterChecks = []capabilityCheck[sessionkit.SessionLimiter]{
	{"RejectAtLimit", checkLimitReject},
	{"EvictOldest", checkLimitEvict},
	{"ExpiredNotCounted", checkLimitExpiredNotCounted},
	{"Missing", checkLimitMissing},
	{"ConcurrentReject", func(t *testing.T, st sessionkit.Store, l sessionkit.SessionLimiter) {
		checkLimitConcurrent(t, st, false, 16, l)
	}},
	{"ConcurrentEvict", func(t *testing.T, st sessionkit.Store, l sessionkit.SessionLimiter) {
		checkLimitConcurrent(t, st, true, 16, l)
	}},
	{"CanceledContext", checkLimitCanceledContext},
}

// createAnonymous creates a live session without a user, created age ago.
func createAnonymous(t *testing.T, st sessionkit.Store, age time.Duration) *sessionkit.Record {
	t.Helper()
	return createAged(t, st, "", age)
}

// userOf returns the user ID stored for id, or "" when id is gone.
func userOf(t *testing.T, st sessionkit.Store, id string) string {
	t.Helper()
	rec, err := st.Load(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil {
		return ""
	}
	return rec.UserID
}

// checkLimitReject checks that with evict false LinkUser links sessions up
// to the limit and then refuses with ErrTooManySessions, changing nothing;
// relinking a session already counted is allowed.
func checkLimitReject(t *testing.T, st sessionkit.Store, l sessionkit.SessionLimiter) {
	user := "user-" + randomID(t)
	var linked []string
	for i := range 2 {
		rec := createAnonymous(t, st, time.Duration(3-i)*time.Hour)
		if ev, err := l.LinkUser(ctx(t), rec.ID, user, 2, false, time.Now()); err != nil || len(ev) != 0 {
			t.Fatalf("LinkUser under the limit = %v, %v; want no eviction, nil", ev, err)
		}
		linked = append(linked, rec.ID)
	}
	extra := createAnonymous(t, st, 0)
	if ev, err := l.LinkUser(ctx(t), extra.ID, user, 2, false, time.Now()); !errors.Is(err, sessionkit.ErrTooManySessions) || len(ev) != 0 {
		t.Fatalf("LinkUser at the limit = %v, %v; want ErrTooManySessions", ev, err)
	}
	if got := userOf(t, st, extra.ID); got != "" {
		t.Fatalf("a refused LinkUser linked the session to %q", got)
	}
	for _, id := range linked {
		if got := userOf(t, st, id); got != user {
			t.Fatalf("a refused LinkUser changed session %s (user %q)", id, got)
		}
	}
	if _, err := l.LinkUser(ctx(t), linked[0], user, 2, false, time.Now()); err != nil {
		t.Fatalf("relinking a counted session = %v; want nil", err)
	}
}

// checkLimitEvict checks that with evict true LinkUser deletes the user's
// oldest sessions to make room, returns their IDs, and leaves other users
// alone.
func checkLimitEvict(t *testing.T, st sessionkit.Store, l sessionkit.SessionLimiter) {
	user, other := "user-"+randomID(t), "user-"+randomID(t)
	oldest := createAged(t, st, user, 3*time.Hour)
	middle := createAged(t, st, user, 2*time.Hour)
	newest := createAged(t, st, user, time.Hour)
	bystander := createAged(t, st, other, 4*time.Hour)
	rec := createAnonymous(t, st, 0)
	ev, err := l.LinkUser(ctx(t), rec.ID, user, 2, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ev)
	want := []string{oldest.ID, middle.ID}
	slices.Sort(want)
	if !slices.Equal(ev, want) {
		t.Fatalf("evicted %v; want the two oldest %v", ev, want)
	}
	for _, id := range want {
		if r, _ := st.Load(ctx(t), id); r != nil {
			t.Fatalf("evicted session %s still loads", id)
		}
	}
	for id, u := range map[string]string{newest.ID: user, rec.ID: user, bystander.ID: other} {
		if got := userOf(t, st, id); got != u {
			t.Fatalf("session %s has user %q; want %q", id, got, u)
		}
	}
}

// checkLimitExpiredNotCounted checks that a session whose ExpiresAt has
// passed counts against no limit.
func checkLimitExpiredNotCounted(t *testing.T, st sessionkit.Store, l sessionkit.SessionLimiter) {
	user := "user-" + randomID(t)
	old := newRecord(t, user)
	old.CreatedAt = old.CreatedAt.Add(-time.Hour)
	old.ExpiresAt = now().Add(-time.Minute)
	if err := st.Create(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	rec := createAnonymous(t, st, 0)
	if ev, err := l.LinkUser(ctx(t), rec.ID, user, 1, false, time.Now()); err != nil || len(ev) != 0 {
		t.Fatalf("LinkUser with only an expired session = %v, %v; want nil", ev, err)
	}
}

// checkLimitMissing checks that LinkUser of an absent record, or of one
// whose ExpiresAt has passed, is ErrNotFound and links or creates nothing.
func checkLimitMissing(t *testing.T, st sessionkit.Store, l sessionkit.SessionLimiter) {
	id := randomID(t)
	if _, err := l.LinkUser(ctx(t), id, "user-"+randomID(t), 1, true, time.Now()); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("LinkUser(missing) = %v; want ErrNotFound", err)
	}
	if r, _ := st.Load(ctx(t), id); r != nil {
		t.Fatal("LinkUser(missing) created a record")
	}
	ended := newRecord(t, "")
	ended.ExpiresAt = now().Add(-time.Minute)
	if err := st.Create(ctx(t), ended); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LinkUser(ctx(t), ended.ID, "user-"+randomID(t), 1, true, time.Now()); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("LinkUser(expired) = %v; want ErrNotFound", err)
	}
	if got := userOf(t, st, ended.ID); got != "" {
		t.Fatalf("LinkUser linked an expired session to %q", got)
	}
}

// checkLimitConcurrent links n sessions of one user at once, as parallel
// logins on several instances do, spread over the limiters ls (instances
// of one store on one backend; st is one of them), under a limit of 3: the
// user ends with exactly 3 live sessions, whatever the interleaving.
func checkLimitConcurrent(t *testing.T, st sessionkit.Store, evict bool, n int, ls ...sessionkit.SessionLimiter) {
	const limit = 3
	user := "user-" + randomID(t)
	recs := make([]*sessionkit.Record, n)
	for i := range recs {
		recs[i] = createAnonymous(t, st, time.Duration(n-i)*time.Minute)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, rec := range recs {
		l := ls[i%len(ls)]
		wg.Go(func() {
			<-start
			_, errs[i] = l.LinkUser(ctx(t), rec.ID, user, limit, evict, time.Now())
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
		case evict && errors.Is(err, sessionkit.ErrNotFound):
			// Evicted by a concurrent link before its own ran.
		default:
			t.Fatalf("LinkUser = %v", err)
		}
	}
	live := 0
	for _, rec := range recs {
		if userOf(t, st, rec.ID) == user {
			live++
		}
	}
	if live != limit {
		t.Fatalf("the user has %d linked sessions after %d concurrent links; want exactly %d", live, n, limit)
	}
	if !evict && ok != limit {
		t.Fatalf("%d links succeeded under RejectNew; want %d", ok, limit)
	}
}

// checkLimitCanceledContext checks that LinkUser with an ended context
// changes nothing and returns the context's error, not ErrUnavailable.
func checkLimitCanceledContext(t *testing.T, st sessionkit.Store, l sessionkit.SessionLimiter) {
	rec := createAnonymous(t, st, 0)
	for _, c := range endedContexts(t) {
		_, err := l.LinkUser(c.ctx, rec.ID, "user-"+randomID(t), 1, true, time.Now())
		wantDone(t, "LinkUser", err, c.err)
	}
	if got := userOf(t, st, rec.ID); got != "" {
		t.Fatalf("LinkUser with an ended context linked the session to %q", got)
	}
}
