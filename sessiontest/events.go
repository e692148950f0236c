package sessiontest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// caps are the optional capabilities of a store that some checks need.
type caps uint8

const (
	hasUserIndex caps = 1 << iota // sessionkit.UserIndex
	hasIterator                   // sessionkit.Iterator
	hasRemover                    // sessionkit.Remover
)

// capsOf returns the optional capabilities st has.
func capsOf(st sessionkit.Store) caps {
	var c caps
	if _, ok := st.(sessionkit.UserIndex); ok {
		c |= hasUserIndex
	}
	if _, ok := st.(sessionkit.Iterator); ok {
		c |= hasIterator
	}
	if _, ok := st.(sessionkit.Remover); ok {
		c |= hasRemover
	}
	return c
}

// An eventCheck is one behaviour of the lifecycle events that two
// instances sharing a store report, for stores with the capabilities it
// needs.
type eventCheck struct {
	name  string
	needs caps
	run   func(t *testing.T, st sessionkit.Store)
}

// eventChecks are the lifecycle events each end of a session gets, exactly
// once across the instances that share a store, run as subtests of Events.
var eventChecks = []eventCheck{
	{"Lifecycle", 0, checkEventsLifecycle},
	{"ExpiredOnLoad", 0, checkEventsExpiredOnLoad},
	{"RevokeOthers", hasUserIndex, checkEventsRevokeOthers},
	{"RevokeUser", hasUserIndex, checkEventsRevokeUser},
	{"ExpiredBySweep", hasIterator, checkEventsExpiredBySweep},
	{"ConcurrentSweeps", hasIterator | hasRemover, checkEventsConcurrentSweeps},
	{"ConcurrentDestroy", hasRemover, checkEventsConcurrentDestroy},
	{"ConcurrentExpiredLoads", hasRemover, checkEventsConcurrentExpiredLoads},
}

// runEvents runs the event checks that stores with the capabilities have
// need, on stores from newStore. The others are not registered at all.
func runEvents(t *testing.T, have caps, newStore func(t *testing.T) sessionkit.Store) {
	for _, c := range eventChecks {
		if c.needs&^have != 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

// The timeouts of the managers of the event checks.
const (
	eventIdle     = 30 * time.Minute
	eventLifetime = time.Hour
)

// instances are two managers, as two instances of an application, that
// share one store and one fake clock. The clock starts an hour ahead of
// the real time, so that the store's own expiry (a TTL, a cleanup by the
// real clock) never removes a record before the managers find it ended.
type instances struct {
	t     *testing.T
	clock *Clock
	m     [2]*sessionkit.Manager

	mu     sync.Mutex
	events []reported
}

// reported is an event and the instance (0 or 1) that reported it.
type reported struct {
	sessionkit.Event
	by int
}

// String describes the event for failure messages.
func (r reported) String() string {
	return fmt.Sprintf("%d:%v(%q, user %q, id %.8s…)", r.by, r.Kind, r.Reason, r.UserID, r.ID)
}

func newInstances(t *testing.T, st sessionkit.Store) *instances {
	in := &instances{t: t, clock: NewClock()}
	in.clock.Advance(time.Hour)
	for i := range in.m {
		m, err := sessionkit.New(sessionkit.Config{
			Store: st, Now: in.clock.Now, IdleTimeout: eventIdle, Lifetime: eventLifetime,
			OnEvent: func(_ context.Context, e sessionkit.Event) {
				in.mu.Lock()
				defer in.mu.Unlock()
				in.events = append(in.events, reported{e, i})
			},
		})
		if err != nil {
			t.Fatalf("sessionkit.New: %v", err)
		}
		in.m[i] = m
	}
	return in
}

// request runs one request on instance i carrying cookie (if not empty),
// with fn as the handler, and returns the cookie to use next.
func (in *instances) request(i int, cookie string, fn func(s *sessionkit.Session)) string {
	return request(in.m[i], cookie, fn)
}

// request runs one request through m's middleware carrying cookie (if not
// empty) in a cookie of the default name, with fn as the handler, and
// returns the cookie to use next.
func request(m *sessionkit.Manager, cookie string, fn func(s *sessionkit.Session)) string {
	var values []string
	if cookie != "" {
		values = append(values, cookie)
	}
	res := serve(m, sessionkit.DefaultCookieName, func(_ http.ResponseWriter, _ *http.Request, s *sessionkit.Session) { fn(s) }, values...)
	for _, c := range res.Cookies() {
		if c.Name == sessionkit.DefaultCookieName && c.Value != "" {
			return c.Value
		}
	}
	return cookie
}

// login creates a session of user (anonymous for "") on instance i and
// returns its cookie value and store key.
func (in *instances) login(i int, user string) (cookie, id string) {
	in.t.Helper()
	var s *sessionkit.Session
	cookie = in.request(i, "", func(ss *sessionkit.Session) {
		s = ss
		if err := s.Put("visits", 1); err != nil {
			in.t.Error(err)
		}
		if err := s.SetUserID(user); err != nil {
			in.t.Error(err)
		}
	})
	if cookie == "" || s.ID() == "" {
		in.t.Fatal("login stored no session")
	}
	return cookie, s.ID()
}

// take returns the events reported since the last take, and forgets them.
func (in *instances) take() []reported {
	in.mu.Lock()
	defer in.mu.Unlock()
	e := in.events
	in.events = nil
	return e
}

// of returns the events of got about the sessions ids, in order.
func of(got []reported, ids ...string) []reported {
	return slices.DeleteFunc(slices.Clone(got), func(r reported) bool { return !slices.Contains(ids, r.ID) })
}

// expect checks that got holds exactly one event for each of want, in
// any order, and nothing else: each want is the event's instance, kind,
// store key and reason.
func (in *instances) expect(what string, got []reported, want ...reported) {
	in.t.Helper()
	rest := slices.Clone(got)
	for _, w := range want {
		i := slices.IndexFunc(rest, func(r reported) bool {
			return r.by == w.by && r.Kind == w.Kind && r.ID == w.ID && r.Reason == w.Reason && r.UserID == w.UserID
		})
		if i < 0 {
			in.t.Errorf("%s: no event %v in %v", what, w, got)
			continue
		}
		rest = slices.Delete(rest, i, i+1)
	}
	if len(rest) > 0 {
		in.t.Errorf("%s: unexpected events %v", what, rest)
	}
}

// ev returns the expected event: by instance by, of kind, for the session
// id of user, with reason.
func ev(by int, kind sessionkit.EventKind, id, user, reason string) reported {
	return reported{sessionkit.Event{Kind: kind, ID: id, UserID: user, Reason: reason}, by}
}

// checkEventsLifecycle checks that a login, a renewal on the other
// instance and a logout each report one event, with the store keys before
// and after the renewal and never the token, and that the ended session
// presented again is rejected, not reported ended again.
func checkEventsLifecycle(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, st)
	user := "user-" + randomID(t)
	cookie, id := in.login(0, user)
	first := cookie
	got := in.take()
	all := got
	in.expect("login", got, ev(0, sessionkit.EventCreated, id, user, ""))

	var renewed string
	cookie = in.request(1, cookie, func(s *sessionkit.Session) {
		if err := s.Renew(true); err != nil {
			t.Error(err)
		}
		renewed = s.ID()
	})
	got = in.take()
	all = append(all, got...)
	in.expect("renewal", got, ev(1, sessionkit.EventRenewed, renewed, user, ""))
	if len(got) == 1 && (got[0].Previous != id || renewed == id) {
		t.Errorf("renewal reported Previous %.8s…, ID %.8s…; want the store key before (%.8s…) and a new one", got[0].Previous, renewed, id)
	}

	in.request(0, cookie, func(s *sessionkit.Session) {
		s.SetReason(sessionkit.ReasonLogout)
		if err := s.Destroy(); err != nil {
			t.Error(err)
		}
	})
	got = in.take()
	all = append(all, got...)
	in.expect("logout", got, ev(0, sessionkit.EventDestroyed, renewed, user, sessionkit.ReasonLogout))

	in.request(1, cookie, func(*sessionkit.Session) {})
	in.expect("the ended session presented again", in.take(), ev(1, sessionkit.EventRejected, renewed, "", sessionkit.RejectedUnknown))
	for _, e := range all {
		for _, c := range []string{first, cookie} {
			if e.ID == c || e.Previous == c {
				t.Fatalf("event %v carried a session token", e)
			}
		}
	}
}

// checkEventsExpiredOnLoad checks that a session presented after its idle
// timeout is reported expired once, by the instance that found it, and
// that the other instance, presented it next, does not report it again.
func checkEventsExpiredOnLoad(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, st)
	user := "user-" + randomID(t)
	cookie, id := in.login(0, user)
	in.take()
	in.clock.Advance(eventIdle + time.Second)
	in.request(1, cookie, func(s *sessionkit.Session) {
		if s.UserID() != "" {
			t.Error("an expired session was used")
		}
	})
	in.expect("load after the idle timeout", in.take(), ev(1, sessionkit.EventExpired, id, user, "idle timeout"))
	in.request(0, cookie, func(*sessionkit.Session) {})
	in.expect("the expired session presented again", in.take(), ev(0, sessionkit.EventRejected, id, "", sessionkit.RejectedUnknown))
}

// revocationSetup logs user in five times: once long enough ago that the
// session has expired (still stored), then a, b and c on alternating
// instances, and another user once. It returns a's cookie and the store
// keys of the user's sessions, expired first.
func revocationSetup(in *instances, user string) (a string, dead, aID, bID, cID string) {
	_, dead = in.login(0, user)
	in.clock.Advance(eventIdle + time.Second)
	a, aID = in.login(0, user)
	_, bID = in.login(1, user)
	_, cID = in.login(0, user)
	in.login(1, "other-"+randomID(in.t))
	in.take()
	return a, dead, aID, bID, cID
}

// checkEventsRevokeOthers checks that "sign out everywhere else" reports
// one EventDestroyed per live session it ends and EventExpired for a
// stored one that had expired, counts only the live ones, spares the
// current session, and that repeating it on the other instance reports
// nothing.
func checkEventsRevokeOthers(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, st)
	user := "user-" + randomID(t)
	a, dead, _, bID, cID := revocationSetup(in, user)
	revoke := func(i, want int) {
		in.request(i, a, func(s *sessionkit.Session) {
			if n, err := s.RevokeOtherSessions(); n != want || err != nil {
				t.Errorf("RevokeOtherSessions on instance %d = %d, %v; want %d", i, n, err, want)
			}
		})
	}
	revoke(1, 2)
	in.expect("RevokeOtherSessions", in.take(),
		ev(1, sessionkit.EventDestroyed, bID, user, sessionkit.ReasonRevoked),
		ev(1, sessionkit.EventDestroyed, cID, user, sessionkit.ReasonRevoked),
		ev(1, sessionkit.EventExpired, dead, user, "idle timeout"))
	revoke(0, 0)
	in.expect("RevokeOtherSessions again", in.take())
	if got := in.request(0, a, func(s *sessionkit.Session) {
		if s.UserID() != user {
			t.Error("RevokeOtherSessions ended the current session")
		}
	}); got == "" {
		t.Fatal("no cookie")
	}
}

// checkEventsRevokeUser checks that RevokeUserSessions reports one event
// per session it ends, with WithReason's reason, spares the exceptions,
// and that a second revocation on the other instance reports only the
// session the first spared.
func checkEventsRevokeUser(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, st)
	user := "user-" + randomID(t)
	_, dead, aID, bID, cID := revocationSetup(in, user)
	c := sessionkit.WithReason(ctx(t), sessionkit.ReasonPasswordChange)
	if n, err := in.m[0].RevokeUserSessions(c, user, aID); n != 2 || err != nil {
		t.Fatalf("RevokeUserSessions = %d, %v; want 2", n, err)
	}
	in.expect("RevokeUserSessions", in.take(),
		ev(0, sessionkit.EventDestroyed, bID, user, sessionkit.ReasonPasswordChange),
		ev(0, sessionkit.EventDestroyed, cID, user, sessionkit.ReasonPasswordChange),
		ev(0, sessionkit.EventExpired, dead, user, "idle timeout"))
	if n, err := in.m[1].RevokeUserSessions(ctx(t), user); n != 1 || err != nil {
		t.Fatalf("second RevokeUserSessions = %d, %v; want 1", n, err)
	}
	in.expect("second RevokeUserSessions", in.take(), ev(1, sessionkit.EventDestroyed, aID, user, sessionkit.ReasonRevoked))
}

// checkEventsExpiredBySweep checks that Sweep reports the expiry of
// sessions no request presents again, with their timeout, leaves live
// sessions alone, and that a sweep on the other instance afterwards
// reports nothing more.
func checkEventsExpiredBySweep(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, st)
	user := "user-" + randomID(t)
	active, absolute := in.login(1, user)
	var idle string
	for i := range 2 {
		in.clock.Advance(25 * time.Minute)
		in.request(i, active, func(*sessionkit.Session) {}) // slides the idle deadline
		if i == 0 {
			_, idle = in.login(0, user)
		}
	}
	live, liveID := in.login(0, "")
	// 61 minutes after the first login, beyond its lifetime; 36 after the
	// second, beyond its idle timeout; 11 after the third.
	in.clock.Advance(11 * time.Minute)
	in.take()

	n, err := in.m[0].Sweep(ctx(t))
	if err != nil || n < 2 {
		t.Fatalf("Sweep = %d, %v; want at least the 2 sessions of this check", n, err)
	}
	in.expect("Sweep", of(in.take(), idle, absolute, liveID),
		ev(0, sessionkit.EventExpired, idle, user, "idle timeout"),
		ev(0, sessionkit.EventExpired, absolute, user, "absolute timeout"))
	if _, err := in.m[1].Sweep(ctx(t)); err != nil {
		t.Fatal(err)
	}
	in.expect("Sweep on the other instance", of(in.take(), idle, absolute, liveID))
	in.request(1, live, func(s *sessionkit.Session) {
		if !s.Has("visits") {
			t.Error("Sweep ended a live session")
		}
	})
}

// checkEventsConcurrentSweeps checks that two instances sweeping at once,
// each page read by both before either ends its sessions, report each
// expiry exactly once in total.
func checkEventsConcurrentSweeps(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, paired(st))
	var ids []string
	for i := range 20 {
		_, id := in.login(i%2, "")
		ids = append(ids, id)
	}
	in.clock.Advance(eventIdle + time.Second)
	in.take()
	var wg sync.WaitGroup
	for i := range in.m {
		wg.Go(func() {
			if _, err := in.m[i].Sweep(ctx(t)); err != nil {
				t.Errorf("Sweep on instance %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got := of(in.take(), ids...)
	for _, id := range ids {
		n := 0
		for _, e := range got {
			if e.ID == id && e.Kind == sessionkit.EventExpired && e.Reason == "idle timeout" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("session %.8s… reported expired %d times by two concurrent sweeps; want once", id, n)
		}
	}
	if len(got) != len(ids) {
		t.Errorf("concurrent sweeps reported %v; want one expiry per session", got)
	}
}

// parallel runs fn on both instances at once, each in a request carrying
// cookie, once both have loaded the session.
func (in *instances) parallel(cookie string, fn func(s *sessionkit.Session)) {
	var loaded, done sync.WaitGroup
	loaded.Add(2)
	for i := range in.m {
		done.Go(func() {
			in.request(i, cookie, func(s *sessionkit.Session) {
				loaded.Done()
				loaded.Wait()
				fn(s)
			})
		})
	}
	done.Wait()
}

// checkEventsConcurrentDestroy checks that a session destroyed by two
// instances at once is reported destroyed once.
func checkEventsConcurrentDestroy(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, st)
	for range 5 {
		user := "user-" + randomID(t)
		cookie, id := in.login(0, user)
		in.take()
		in.parallel(cookie, func(s *sessionkit.Session) {
			if err := s.Destroy(); err != nil {
				t.Error(err)
			}
		})
		got := in.take()
		if len(got) != 1 || got[0].Kind != sessionkit.EventDestroyed || got[0].ID != id {
			t.Fatalf("two instances destroying one session at once reported %v; want one EventDestroyed", got)
		}
	}
}

// checkEventsConcurrentExpiredLoads checks that an expired session
// presented to two instances at once, both loading it before either ends
// it, is reported expired once.
func checkEventsConcurrentExpiredLoads(t *testing.T, st sessionkit.Store) {
	in := newInstances(t, paired(st))
	for range 5 {
		cookie, id := in.login(0, "")
		in.clock.Advance(eventIdle + time.Second)
		in.take()
		var wg sync.WaitGroup
		for i := range in.m {
			wg.Go(func() { in.request(i, cookie, func(*sessionkit.Session) {}) })
		}
		wg.Wait()
		expired := 0
		for _, e := range in.take() {
			switch {
			case e.Kind == sessionkit.EventExpired && e.ID == id:
				expired++
			case e.Kind != sessionkit.EventRejected:
				t.Errorf("unexpected event %v", e)
			}
		}
		if expired != 1 {
			t.Fatalf("an expired session presented to two instances at once was reported expired %d times; want once", expired)
		}
	}
}

// pairedStore holds the result of each Load of an ID, and of each Iterate
// from a cursor, until a second such call has returned too (see pairing),
// so that two instances both read a record before either ends it. It has the Iterator and
// Remover of the store it wraps; the checks that use it need them.
type pairedStore struct {
	sessionkit.Store
	sessionkit.Iterator
	sessionkit.Remover
	p *pairing
}

// paired returns st wrapped in a pairedStore.
func paired(st sessionkit.Store) sessionkit.Store {
	it, _ := st.(sessionkit.Iterator)
	r, _ := st.(sessionkit.Remover)
	return pairedStore{st, it, r, &pairing{waiting: map[string]chan struct{}{}}}
}

// Load implements sessionkit.Store.
func (s pairedStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	rec, err := s.Store.Load(ctx, id)
	s.p.meet("load " + id)
	return rec, err
}

// Iterate implements sessionkit.Iterator.
func (s pairedStore) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	page, next, err := s.Iterator.Iterate(ctx, cursor, limit)
	s.p.meet("iterate " + cursor)
	return page, next, err
}

// pairing holds a call until a second call with the same key arrives, or
// for two seconds at most.
type pairing struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

// meet returns when a second call of meet with key arrives, or after two
// seconds.
func (p *pairing) meet(key string) {
	p.mu.Lock()
	if ch, ok := p.waiting[key]; ok {
		delete(p.waiting, key)
		p.mu.Unlock()
		close(ch)
		return
	}
	ch := make(chan struct{})
	p.waiting[key] = ch
	p.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		p.mu.Lock()
		if p.waiting[key] == ch {
			delete(p.waiting, key)
		}
		p.mu.Unlock()
	}
}
