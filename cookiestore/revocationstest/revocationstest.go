// Package revocationstest is the conformance suite for implementations of
// cookiestore.Revocations, the list that lets cookie sessions end before
// they expire. Every implementation in sessionkit runs it: the in-memory
// list in package cookiestore, and the shared lists of redisstore, pgstore
// and sqlitestore against real servers.
//
// The suite uses the real clock and deadlines of a few hundred
// milliseconds, so that backends that expire entries themselves (Redis TTLs)
// are tested as they run. Each check uses fresh random session and user
// IDs, so the backend need not be emptied between checks.
package revocationstest

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
)

// Options describes the implementation under test.
type Options struct {
	// New returns a handle on the list under test: for a shared list, a
	// new instance with its own client or connection to the same backend,
	// as a second app instance, or the same app after a restart, would
	// make. If the handle implements io.Closer, the suite closes it at the
	// end of the test, or earlier to simulate a restart. A list kept in
	// memory returns the same list every time and sets PerProcess.
	New func(t *testing.T) cookiestore.Revocations

	// PerProcess is set for lists that are not shared (the in-memory
	// list): the checks that need a second instance or a restart are
	// skipped.
	PerProcess bool

	// Unavailable, if not nil, returns a handle whose backend cannot be
	// reached (a stopped server, a closed port). The suite then checks
	// that every method fails with an error wrapping
	// sessionkit.ErrUnavailable and that a cookiestore.Store using it
	// refuses a valid cookie.
	Unavailable func(t *testing.T) cookiestore.Revocations
}

// short is the lifetime of the entries the suite waits to see purged.
const short = 300 * time.Millisecond

// Run runs the conformance checks as subtests of t.
func Run(t *testing.T, opts Options) {
	if opts.New == nil {
		t.Fatal("revocationstest: Options.New is nil")
	}
	s := suite{opts}
	t.Run("RevokeSession", s.revokeSession)
	t.Run("SecondInstance", s.secondInstance)
	t.Run("Restart", s.restart)
	t.Run("RevokeUser", s.revokeUser)
	t.Run("LaterCallsDoNotUndo", s.laterCallsDoNotUndo)
	t.Run("PurgedAfterDeadline", s.purgedAfterDeadline)
	t.Run("UnusualIDs", s.unusualIDs)
	t.Run("CanceledContext", s.canceledContext)
	t.Run("Unavailable", s.unavailable)
	t.Run("ThroughStore", s.throughStore)
}

type suite struct {
	opts Options
}

// open returns a handle from New, closed when the test ends.
func (s suite) open(t *testing.T) cookiestore.Revocations {
	t.Helper()
	r := s.opts.New(t)
	if c, ok := r.(io.Closer); ok && !s.opts.PerProcess {
		t.Cleanup(func() { c.Close() })
	}
	return r
}

// shared skips t for lists that are not shared.
func (s suite) shared(t *testing.T) {
	t.Helper()
	if s.opts.PerProcess {
		t.Skip("the list is per process")
	}
}

// randomID returns a fresh ID, so checks never see each other's entries.
func randomID(prefix string) string {
	return prefix + "-" + rand.Text()
}

// rec returns a record of session id of userID, created at created.
func rec(id, userID string, created time.Time) *sessionkit.Record {
	return &sessionkit.Record{
		ID: id, UserID: userID, CreatedAt: created, LastSeen: created,
		ExpiresAt: created.Add(time.Hour), AbsoluteExpiry: created.Add(2 * time.Hour),
	}
}

// revoked returns r's answer for rec, failing t on an error.
func revoked(t *testing.T, r cookiestore.Revocations, rec *sessionkit.Record) bool {
	t.Helper()
	ok, err := r.Revoked(context.Background(), rec)
	if err != nil {
		t.Fatalf("Revoked(%q, user %q): %v", rec.ID, rec.UserID, err)
	}
	return ok
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// revokeSession: a revoked ID is denied, with or without the user it had,
// and other sessions are not.
func (s suite) revokeSession(t *testing.T) {
	ctx := context.Background()
	r := s.open(t)
	now := time.Now()
	id, user := randomID("s"), randomID("u")
	if revoked(t, r, rec(id, user, now)) {
		t.Fatal("a session never revoked is revoked")
	}
	must(t, r.Revoke(ctx, id, user, now.Add(time.Hour)))
	if !revoked(t, r, rec(id, user, now)) {
		t.Error("revoked session not revoked")
	}
	if !revoked(t, r, rec(id, "", now)) {
		t.Error("an anonymous copy of a revoked session (sealed before the user logged in) is not revoked")
	}
	if revoked(t, r, rec(randomID("s"), user, now)) {
		t.Error("revoking one session revoked another session of the same user")
	}
	anon := randomID("s")
	must(t, r.Revoke(ctx, anon, "", now.Add(time.Hour)))
	if !revoked(t, r, rec(anon, "", now)) {
		t.Error("revoked anonymous session not revoked")
	}
}

// secondInstance: a revocation made through one instance is seen by
// another, at once.
func (s suite) secondInstance(t *testing.T) {
	s.shared(t)
	ctx := context.Background()
	a, b := s.open(t), s.open(t)
	now := time.Now()
	id, user := randomID("s"), randomID("u")
	if revoked(t, b, rec(id, user, now)) {
		t.Fatal("a session never revoked is revoked")
	}
	must(t, a.Revoke(ctx, id, user, now.Add(time.Hour)))
	if !revoked(t, b, rec(id, user, now)) {
		t.Error("a logout on one instance is not seen by another")
	}
	must(t, b.RevokeUser(ctx, user, now.Add(time.Second), now.Add(time.Hour)))
	if !revoked(t, a, rec(randomID("s"), user, now)) {
		t.Error("sign out everywhere on one instance is not seen by another")
	}
}

// restart: the revocations survive closing the instance that made them.
func (s suite) restart(t *testing.T) {
	s.shared(t)
	ctx := context.Background()
	r := s.opts.New(t)
	now := time.Now()
	id, user, other := randomID("s"), randomID("u"), randomID("u")
	must(t, r.Revoke(ctx, id, user, now.Add(time.Hour)))
	must(t, r.RevokeUser(ctx, other, now, now.Add(time.Hour)))
	if c, ok := r.(io.Closer); ok {
		must(t, c.Close())
	}
	after := s.open(t)
	if !revoked(t, after, rec(id, user, now)) {
		t.Error("a logout does not survive a restart")
	}
	if !revoked(t, after, rec(randomID("s"), other, now.Add(-time.Second))) {
		t.Error("sign out everywhere does not survive a restart")
	}
}

// revokeUser: sessions of the user created before the cutoff are revoked;
// sessions created at or after it, and other users' sessions, are not.
func (s suite) revokeUser(t *testing.T) {
	ctx := context.Background()
	r := s.open(t)
	cut := time.Now().Add(-time.Minute).Add(123456789 * time.Nanosecond)
	user, other := randomID("u"), randomID("u")
	must(t, r.RevokeUser(ctx, user, cut, cut.Add(time.Hour)))
	if !revoked(t, r, rec(randomID("s"), user, cut.Add(-time.Nanosecond))) {
		t.Error("a session created one nanosecond before the cutoff is not revoked")
	}
	if !revoked(t, r, rec(randomID("s"), user, cut.Add(-time.Hour))) {
		t.Error("a session created an hour before the cutoff is not revoked")
	}
	if revoked(t, r, rec(randomID("s"), user, cut)) {
		t.Error("a session created at the cutoff (the one kept by sign out everywhere else) is revoked")
	}
	if revoked(t, r, rec(randomID("s"), user, cut.Add(time.Minute))) {
		t.Error("a session created after the cutoff is revoked")
	}
	if revoked(t, r, rec(randomID("s"), other, cut.Add(-time.Hour))) {
		t.Error("revoking a user revoked another user's session")
	}
	if revoked(t, r, rec(randomID("s"), "", cut.Add(-time.Hour))) {
		t.Error("revoking a user revoked an anonymous session")
	}
}

// laterCallsDoNotUndo: an earlier cutoff or a shorter deadline given later
// does not weaken an entry.
func (s suite) laterCallsDoNotUndo(t *testing.T) {
	ctx := context.Background()
	r := s.open(t)
	now := time.Now()
	user := randomID("u")
	must(t, r.RevokeUser(ctx, user, now, now.Add(time.Hour)))
	must(t, r.RevokeUser(ctx, user, now.Add(-time.Hour), now.Add(short)))
	if !revoked(t, r, rec(randomID("s"), user, now.Add(-time.Minute))) {
		t.Error("an earlier cutoff undid a later one")
	}
	id := randomID("s")
	must(t, r.Revoke(ctx, id, user, now.Add(time.Hour)))
	must(t, r.Revoke(ctx, id, user, now.Add(short)))
	time.Sleep(time.Until(now.Add(short + 50*time.Millisecond)))
	if _, err := r.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if !revoked(t, r, rec(id, user, now)) {
		t.Error("a shorter deadline given later ended a logout early")
	}
	if !revoked(t, r, rec(randomID("s"), user, now.Add(-time.Minute))) {
		t.Error("a shorter deadline given later ended a sign out everywhere early")
	}
}

// purgedAfterDeadline: entries are gone once their deadline has passed and
// Purge ran (or the backend expired them), and live entries stay.
func (s suite) purgedAfterDeadline(t *testing.T) {
	ctx := context.Background()
	r := s.open(t)
	now := time.Now()
	gone, kept := randomID("s"), randomID("s")
	user, goneUser := randomID("u"), randomID("u")
	must(t, r.Revoke(ctx, gone, user, now.Add(short)))
	must(t, r.Revoke(ctx, kept, user, now.Add(time.Hour)))
	must(t, r.RevokeUser(ctx, goneUser, now, now.Add(short)))
	must(t, r.Revoke(ctx, randomID("s"), "", now.Add(-time.Second))) // already past
	if !revoked(t, r, rec(gone, user, now)) || !revoked(t, r, rec(randomID("s"), goneUser, now.Add(-time.Second))) {
		t.Fatal("entries not revoked before their deadline")
	}
	time.Sleep(time.Until(now.Add(short + 50*time.Millisecond)))
	n, err := r.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		t.Errorf("Purge = %d", n)
	}
	if revoked(t, r, rec(gone, user, now)) {
		t.Error("a logout entry is still there after its deadline and a purge")
	}
	if revoked(t, r, rec(randomID("s"), goneUser, now.Add(-time.Second))) {
		t.Error("a user cutoff is still there after its deadline and a purge")
	}
	if !revoked(t, r, rec(kept, user, now)) {
		t.Error("a purge dropped an entry whose deadline has not passed")
	}
}

// unusualIDs: IDs with separators, braces (Redis hash tags), quotes and
// non-ASCII characters do not collide.
func (s suite) unusualIDs(t *testing.T) {
	ctx := context.Background()
	r := s.open(t)
	now := time.Now()
	suffix := rand.Text()
	users := []string{"a}:s:b" + suffix, "}" + suffix, "a" + suffix, "{" + suffix + "}", "x'; --" + suffix, "gophér " + suffix}
	for _, u := range users {
		must(t, r.Revoke(ctx, "id:"+u, u, now.Add(time.Hour)))
	}
	for _, u := range users {
		if !revoked(t, r, rec("id:"+u, u, now)) {
			t.Errorf("session of user %q not revoked", u)
		}
		if revoked(t, r, rec("other:"+u, u, now.Add(-time.Hour))) {
			t.Errorf("another session of user %q revoked", u)
		}
	}
	must(t, r.RevokeUser(ctx, users[0], now, now.Add(time.Hour)))
	for _, u := range users[1:] {
		if revoked(t, r, rec(randomID("s"), u, now.Add(-time.Hour))) {
			t.Errorf("revoking user %q revoked user %q", users[0], u)
		}
	}
}

// canceledContext: every method returns the context's error, and Revoked
// never answers false.
func (s suite) canceledContext(t *testing.T) {
	r := s.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	ok, err := r.Revoked(ctx, rec(randomID("s"), randomID("u"), now))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Revoked with a canceled context = %v, %v; want context.Canceled", ok, err)
	}
	if errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Revoked with a canceled context = %v: cancellation is not an outage", err)
	}
	if err := r.Revoke(ctx, randomID("s"), "", now.Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("Revoke with a canceled context = %v; want context.Canceled", err)
	}
	if err := r.RevokeUser(ctx, randomID("u"), now, now.Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("RevokeUser with a canceled context = %v; want context.Canceled", err)
	}
	if _, err := r.Purge(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Purge with a canceled context = %v; want context.Canceled", err)
	}
}

// unavailable: an unreachable backend gives errors wrapping
// sessionkit.ErrUnavailable, and a Store using it refuses a valid cookie.
func (s suite) unavailable(t *testing.T) {
	if s.opts.Unavailable == nil {
		t.Skip("no Options.Unavailable")
	}
	r := s.opts.Unavailable(t)
	if c, ok := r.(io.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	// Each call gets its own time: a client may retry for seconds before
	// it gives up on a backend that is down (Sentinel discovery does).
	call := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	now := time.Now()
	if ok, err := r.Revoked(call(), rec(randomID("s"), randomID("u"), now)); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Revoked with the backend down = %v, %v; want ErrUnavailable", ok, err)
	}
	if err := r.Revoke(call(), randomID("s"), "", now.Add(time.Hour)); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Revoke with the backend down = %v; want ErrUnavailable", err)
	}
	if err := r.RevokeUser(call(), randomID("u"), now, now.Add(time.Hour)); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("RevokeUser with the backend down = %v; want ErrUnavailable", err)
	}
	st := store(t, r)
	v, err := st.Seal(call(), rec(randomID("s"), randomID("u"), now))
	must(t, err)
	got, err := st.Open(call(), v)
	if got != nil || !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Open of a valid cookie with the list down = %v, %v; want no record and ErrUnavailable (fail closed)", got, err)
	}
}

// throughStore: a cookiestore.Store on one instance revokes, a Store on
// another refuses the cookie; "sign out everywhere" likewise.
func (s suite) throughStore(t *testing.T) {
	ctx := context.Background()
	a, b := store(t, s.open(t)), store(t, s.open(t))
	now := time.Now()
	user := randomID("u")
	one := rec(randomID("s"), user, now)
	two := rec(randomID("s"), user, now.Add(-time.Second))
	v1, err := a.Seal(ctx, one)
	must(t, err)
	v2, err := a.Seal(ctx, two)
	must(t, err)
	for _, v := range []string{v1, v2} {
		if got, err := b.Open(ctx, v); got == nil || err != nil {
			t.Fatalf("Open of a valid cookie = %v, %v", got, err)
		}
	}
	must(t, a.Revoke(ctx, one))
	if got, err := b.Open(ctx, v1); got != nil || err != nil {
		t.Errorf("Open of a logged-out cookie on another store = %v, %v; want nil, nil", got, err)
	}
	if got, err := b.Open(ctx, v2); got == nil || err != nil {
		t.Errorf("logout of one session ended another: Open = %v, %v", got, err)
	}
	must(t, a.RevokeUser(ctx, user, now.Add(-time.Millisecond)))
	if got, err := b.Open(ctx, v2); got != nil || err != nil {
		t.Errorf("Open of a signed-out-everywhere cookie on another store = %v, %v; want nil, nil", got, err)
	}
}

// store returns a cookiestore.Store using r.
func store(t *testing.T, r cookiestore.Revocations) *cookiestore.Store {
	t.Helper()
	st, err := cookiestore.New(cookiestore.Options{
		Keys:        [][]byte{[]byte("revocationstest key, 32 bytes or more")},
		Revocations: r,
		MaxLifetime: 3 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
