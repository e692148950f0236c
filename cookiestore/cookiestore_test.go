package cookiestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/recordcodec"
)

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

var (
	key1 = key(1)
	key2 = key(2)
)

func newStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = [][]byte{key1}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// record returns a live record created at now with a 30-minute idle
// timeout and an 8-hour absolute timeout.
func record(now time.Time, id, user string) *sessionkit.Record {
	return &sessionkit.Record{
		ID:             id,
		UserID:         user,
		Values:         map[string][]byte{"theme": []byte("dark"), "cart": {0, 1, 2, 255}},
		CreatedAt:      now,
		LastSeen:       now,
		ExpiresAt:      now.Add(30 * time.Minute),
		AbsoluteExpiry: now.Add(8 * time.Hour),
		Persistent:     true,
		Meta:           map[string]string{"ip": "192.0.2.1", "ua": "test/1.0"},
	}
}

func mustSeal(t testing.TB, s *Store, rec *sessionkit.Record) string {
	t.Helper()
	v, err := s.Seal(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustOpen(t testing.TB, s *Store, value string) *sessionkit.Record {
	t.Helper()
	rec, err := s.Open(context.Background(), value)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRoundTrip(t *testing.T) {
	c := newClock()
	s := newStore(t, Options{Now: c.Now})
	recs := []*sessionkit.Record{
		record(c.Now(), "id-1", "user-1"),
		{ID: "anon", ExpiresAt: c.Now().Add(time.Minute), Values: map[string][]byte{}},
		{ID: "nanos", CreatedAt: c.Now().Add(123456789), ExpiresAt: c.Now().Add(time.Hour + 1),
			Values: map[string][]byte{"": nil, "k": {}}, Meta: map[string]string{"": ""}},
	}
	for _, rec := range recs {
		orig := rec.Clone()
		v := mustSeal(t, s, rec)
		if !reflect.DeepEqual(rec.Clone(), orig) {
			t.Errorf("Seal modified the record")
		}
		if !strings.HasPrefix(v, "v1.") {
			t.Errorf("value %q lacks the version prefix", v)
		}
		got := mustOpen(t, s, v)
		want := orig.Clone()
		if len(orig.Meta) == 0 {
			want.Meta = nil
		}
		for k, v := range want.Values {
			if v == nil {
				want.Values[k] = []byte{}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Open = %+v, want %+v", got, want)
		}
		rec2, reseal, err := s.OpenReseal(context.Background(), v)
		if err != nil || rec2 == nil || reseal {
			t.Errorf("OpenReseal = %v, %v, %v; want record, false, nil", rec2, reseal, err)
		}
	}
}

func TestSealIsRandomAndOpaque(t *testing.T) {
	c := newClock()
	s := newStore(t, Options{Now: c.Now})
	rec := record(c.Now(), "id-1", "user-1")
	rec.Values["secret"] = []byte("plaintext-marker")
	v1, v2 := mustSeal(t, s, rec), mustSeal(t, s, rec)
	if v1 == v2 {
		t.Error("sealing twice gave the same value")
	}
	for _, v := range []string{v1, v2} {
		for _, s := range []string{"plaintext-marker", "user-1", "192.0.2.1", "theme"} {
			if strings.Contains(v, s) {
				t.Errorf("sealed value contains %q", s)
			}
		}
	}
}

func TestTamper(t *testing.T) {
	c := newClock()
	s := newStore(t, Options{Now: c.Now})
	v := mustSeal(t, s, record(c.Now(), "id-1", "user-1"))
	if mustOpen(t, s, v) == nil {
		t.Fatal("untampered value does not open")
	}
	subs := "AQZaqz09-_.=+/ \r\n%\x00\xff"
	for i := 0; i < len(v); i++ {
		for _, r := range []byte(subs) {
			if v[i] == r {
				continue
			}
			bad := v[:i] + string(r) + v[i+1:]
			if rec := mustOpen(t, s, bad); rec != nil {
				t.Fatalf("value with byte %d changed to %q opened", i, r)
			}
		}
		// Flip each bit of the character too.
		for bit := 0; bit < 8; bit++ {
			bad := v[:i] + string(v[i]^1<<bit) + v[i+1:]
			if rec := mustOpen(t, s, bad); rec != nil {
				t.Fatalf("value with bit %d of byte %d flipped opened", bit, i)
			}
		}
		// Truncate and insert.
		if rec := mustOpen(t, s, v[:i]); rec != nil {
			t.Fatalf("value truncated to %d bytes opened", i)
		}
		for _, r := range []byte("A\n") {
			if rec := mustOpen(t, s, v[:i]+string(r)+v[i:]); rec != nil {
				t.Fatalf("value with %q inserted at %d opened", r, i)
			}
		}
	}
	for _, bad := range []string{v + "A", v + "AA", v + "AAAA", v + "\n", " " + v, "v2." + v[3:], "V1." + v[3:], v[3:]} {
		if rec := mustOpen(t, s, bad); rec != nil {
			t.Errorf("Open(%q) opened", bad)
		}
	}
}

func TestGarbage(t *testing.T) {
	s := newStore(t, Options{})
	for _, v := range []string{
		"", "v", "v1", "v1.", "v1.A", "v1.AA", "v1.AAAA", "v1." + strings.Repeat("A", 40),
		"v1." + strings.Repeat("A", 5000), "s:abc.def", "' OR '1'='1", `{"$ne":null}`, "*", "\r\n",
		strings.Repeat("x", 10<<10),
	} {
		rec, reseal, err := s.OpenReseal(context.Background(), v)
		if rec != nil || reseal || err != nil {
			t.Errorf("OpenReseal(%.20q) = %v, %v, %v; want nil, false, nil", v, rec, reseal, err)
		}
	}
}

func TestWrongKey(t *testing.T) {
	c := newClock()
	s1 := newStore(t, Options{Now: c.Now, Keys: [][]byte{key1}})
	s2 := newStore(t, Options{Now: c.Now, Keys: [][]byte{key2}})
	v := mustSeal(t, s1, record(c.Now(), "id-1", "user-1"))
	if rec := mustOpen(t, s2, v); rec != nil {
		t.Error("value opened under another key")
	}
}

func TestRotation(t *testing.T) {
	c := newClock()
	ctx := context.Background()
	old := newStore(t, Options{Now: c.Now, Keys: [][]byte{key1}})
	rotated := newStore(t, Options{Now: c.Now, Keys: [][]byte{key2, key1}})
	retired := newStore(t, Options{Now: c.Now, Keys: [][]byte{key2}})

	v := mustSeal(t, old, record(c.Now(), "id-1", "user-1"))
	rec, reseal, err := rotated.OpenReseal(ctx, v)
	if err != nil || rec == nil || !reseal {
		t.Fatalf("rotated.OpenReseal(old value) = %v, %v, %v; want record, true, nil", rec, reseal, err)
	}
	if rec := mustOpen(t, rotated, v); rec == nil {
		t.Error("rotated.Open(old value) = nil")
	}
	v2 := mustSeal(t, rotated, rec)
	rec, reseal, err = rotated.OpenReseal(ctx, v2)
	if err != nil || rec == nil || reseal {
		t.Errorf("rotated.OpenReseal(resealed) = %v, %v, %v; want record, false, nil", rec, reseal, err)
	}
	if rec := mustOpen(t, retired, v2); rec == nil {
		t.Error("resealed value does not open under the new key alone")
	}
	if rec := mustOpen(t, retired, v); rec != nil {
		t.Error("old value opens after its key was removed")
	}
	if rec := mustOpen(t, old, v2); rec != nil {
		t.Error("value sealed with the new key opens under the old key alone")
	}
}

func TestCookieNameBound(t *testing.T) {
	c := newClock()
	def := newStore(t, Options{Now: c.Now})
	named := newStore(t, Options{Now: c.Now, CookieName: DefaultCookieName})
	other := newStore(t, Options{Now: c.Now, CookieName: "__Host-other"})

	if def.CookieName() != DefaultCookieName || other.CookieName() != "__Host-other" {
		t.Errorf("CookieName() = %q, %q", def.CookieName(), other.CookieName())
	}
	v := mustSeal(t, def, record(c.Now(), "id-1", "user-1"))
	if rec := mustOpen(t, named, v); rec == nil {
		t.Error("empty CookieName is not DefaultCookieName")
	}
	if rec := mustOpen(t, other, v); rec != nil {
		t.Error("value opened under another cookie name")
	}
	v = mustSeal(t, other, record(c.Now(), "id-1", "user-1"))
	if rec := mustOpen(t, def, v); rec != nil {
		t.Error("value opened under another cookie name")
	}
}

func TestIdleExpiry(t *testing.T) {
	c := newClock()
	s := newStore(t, Options{Now: c.Now})
	rec := record(c.Now(), "id-1", "user-1") // idle deadline in 30 minutes
	v := mustSeal(t, s, rec)
	c.Advance(30*time.Minute - time.Second)
	if mustOpen(t, s, v) == nil {
		t.Fatal("value rejected 1s before its idle deadline")
	}
	c.Advance(time.Second)
	if mustOpen(t, s, v) != nil {
		t.Fatal("value accepted at its idle deadline")
	}
	c.Advance(time.Hour)
	if mustOpen(t, s, v) != nil {
		t.Fatal("value accepted after its idle deadline")
	}
}

func TestAbsoluteExpiry(t *testing.T) {
	c := newClock()
	s := newStore(t, Options{Now: c.Now})
	rec := record(c.Now(), "id-1", "user-1")
	// A record whose ExpiresAt is (wrongly) beyond its absolute deadline
	// still ends at the absolute deadline.
	rec.ExpiresAt = rec.AbsoluteExpiry.Add(time.Hour)
	v := mustSeal(t, s, rec)
	c.Advance(8*time.Hour - time.Second)
	if mustOpen(t, s, v) == nil {
		t.Fatal("value rejected 1s before its absolute deadline")
	}
	c.Advance(time.Second)
	if mustOpen(t, s, v) != nil {
		t.Fatal("value accepted at its absolute deadline")
	}
}

func TestTooLarge(t *testing.T) {
	c := newClock()
	for _, name := range []string{DefaultCookieName, strings.Repeat("n", 200)} {
		s := newStore(t, Options{Now: c.Now, CookieName: name})
		rec := record(c.Now(), "id-1", "user-1")
		rec.Values["big"] = bytes.Repeat([]byte{'x'}, 5<<10)
		if _, err := s.Seal(context.Background(), rec); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Seal(5 KB) error = %v, want ErrTooLarge", err)
		}
		var fit, tooLarge bool
		for n := 2500; n < 3300; n++ {
			rec.Values["big"] = bytes.Repeat([]byte{'x'}, n)
			v, err := s.Seal(context.Background(), rec)
			switch {
			case errors.Is(err, ErrTooLarge):
				tooLarge = true
			case err != nil:
				t.Fatal(err)
			case len(name)+len(v) > MaxCookieSize:
				t.Fatalf("sealed %d bytes of values into %d+%d bytes", n, len(name), len(v))
			case tooLarge:
				t.Fatalf("%d bytes sealed after a smaller value was too large", n)
			default:
				fit = true
				if mustOpen(t, s, v) == nil {
					t.Fatalf("sealed %d bytes of values that do not open", n)
				}
			}
		}
		if !fit || !tooLarge {
			t.Errorf("cookie name %d bytes: sizes tried did not cross the limit (fit %v, too large %v)", len(name), fit, tooLarge)
		}
	}
}

func TestSealErrors(t *testing.T) {
	c := newClock()
	s := newStore(t, Options{Now: c.Now})
	noID := record(c.Now(), "", "u")
	noExpiry := record(c.Now(), "id", "u")
	noExpiry.ExpiresAt = time.Time{}
	for name, rec := range map[string]*sessionkit.Record{"nil": nil, "no ID": noID, "no ExpiresAt": noExpiry} {
		if v, err := s.Seal(context.Background(), rec); err == nil {
			t.Errorf("Seal(%s) = %q, want error", name, v)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for name, opts := range map[string]Options{
		"no keys":     {},
		"empty key":   {Keys: [][]byte{key1, nil}},
		"short key":   {Keys: [][]byte{make([]byte, 31)}},
		"short first": {Keys: [][]byte{[]byte("secret"), key1}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%s) succeeded", name)
		}
	}
}

func TestNewCopiesNothingItNeedsLater(t *testing.T) {
	c := newClock()
	k := key(7)
	s := newStore(t, Options{Now: c.Now, Keys: [][]byte{k}})
	v := mustSeal(t, s, record(c.Now(), "id-1", "user-1"))
	clear(k)
	if mustOpen(t, s, v) == nil {
		t.Error("changing the caller's key slice broke the store")
	}
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	revs := NewMemoryRevocations(c.Now)
	s := newStore(t, Options{Now: c.Now, Revocations: revs})

	a := record(c.Now(), "a", "alice")
	b := record(c.Now(), "b", "alice")
	other := record(c.Now(), "o", "bob")
	anon := record(c.Now(), "n", "")
	va, vb, vo, vn := mustSeal(t, s, a), mustSeal(t, s, b), mustSeal(t, s, other), mustSeal(t, s, anon)

	if err := s.Revoke(ctx, a); err != nil {
		t.Fatal(err)
	}
	if mustOpen(t, s, va) != nil {
		t.Error("revoked session opens")
	}
	if mustOpen(t, s, vb) == nil || mustOpen(t, s, vo) == nil || mustOpen(t, s, vn) == nil {
		t.Error("revoking one session ended another")
	}

	// A value sealed again after the logout (a request in flight) is
	// still revoked.
	a2 := a.Clone()
	c.Advance(time.Minute)
	a2.LastSeen, a2.ExpiresAt = c.Now(), c.Now().Add(30*time.Minute)
	if mustOpen(t, s, mustSeal(t, s, a2)) != nil {
		t.Error("revoked session opens after a later seal")
	}

	// Sign out everywhere: alice's sessions created before now end, a
	// session created from now on lives.
	c.Advance(time.Minute)
	if err := s.RevokeUser(ctx, "alice", c.Now()); err != nil {
		t.Fatal(err)
	}
	if mustOpen(t, s, vb) != nil {
		t.Error("session of a revoked user opens")
	}
	b2 := b.Clone()
	b2.LastSeen, b2.ExpiresAt = c.Now(), c.Now().Add(30*time.Minute)
	if mustOpen(t, s, mustSeal(t, s, b2)) != nil {
		t.Error("session of a revoked user opens after a later seal")
	}
	fresh := record(c.Now(), "c", "alice")
	if mustOpen(t, s, mustSeal(t, s, fresh)) == nil {
		t.Error("session created at the cutoff does not open")
	}
	if mustOpen(t, s, vo) == nil || mustOpen(t, s, vn) == nil {
		t.Error("revoking a user ended another user's session")
	}
	// An earlier cutoff does not undo a later one.
	if err := s.RevokeUser(ctx, "alice", c.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if mustOpen(t, s, vb) != nil {
		t.Error("an earlier cutoff undid a later one")
	}
}

func TestNoRevocations(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, Options{Now: c.Now})
	rec := record(c.Now(), "a", "alice")
	v := mustSeal(t, s, rec)
	if err := s.Revoke(ctx, rec); err != nil {
		t.Errorf("Revoke without Revocations = %v, want nil", err)
	}
	if mustOpen(t, s, v) == nil {
		t.Error("Revoke without Revocations ended the session")
	}
	if err := s.RevokeUser(ctx, "alice", c.Now()); !errors.Is(err, ErrNoRevocations) {
		t.Errorf("RevokeUser without Revocations = %v, want ErrNoRevocations", err)
	}
}

// countingRevocations counts Revoked calls and fails when err is set.
type countingRevocations struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (r *countingRevocations) Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return false, r.err
}

func (r *countingRevocations) Revoke(ctx context.Context, id, userID string, until time.Time) error {
	return r.err
}

func (r *countingRevocations) RevokeUser(ctx context.Context, userID string, before, until time.Time) error {
	return r.err
}

func (r *countingRevocations) Purge(ctx context.Context) (int, error) {
	return 0, r.err
}

func TestRevocationsBackend(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	revs := &countingRevocations{}
	s := newStore(t, Options{Now: c.Now, Revocations: revs})
	v := mustSeal(t, s, record(c.Now(), "a", "alice"))

	// Bad and expired input never reaches the backend.
	for _, bad := range []string{"", "v1.AAAA", v[:len(v)-1], "v2." + v[3:]} {
		mustOpen(t, s, bad)
	}
	if revs.calls != 0 {
		t.Errorf("bad values made %d backend calls, want 0", revs.calls)
	}
	mustOpen(t, s, v)
	if revs.calls != 1 {
		t.Errorf("a good value made %d backend calls, want 1", revs.calls)
	}

	revs.err = sessionkit.ErrUnavailable
	rec, err := s.Open(ctx, v)
	if rec != nil || !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Open with a failing backend = %v, %v; want nil, ErrUnavailable", rec, err)
	}
	if err := s.Revoke(ctx, record(c.Now(), "a", "alice")); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Revoke with a failing backend = %v", err)
	}
	c.Advance(24 * time.Hour)
	calls := revs.calls
	if rec, err := s.Open(ctx, v); rec != nil || err != nil {
		t.Errorf("Open(expired) = %v, %v; want nil, nil", rec, err)
	}
	if revs.calls != calls {
		t.Error("an expired value reached the backend")
	}
}

func TestMemoryRevocationsPurge(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	m := NewMemoryRevocations(c.Now)
	s := newStore(t, Options{Now: c.Now, Revocations: m, MaxLifetime: 24 * time.Hour})
	start := c.Now()
	short := &sessionkit.Record{ID: "short", CreatedAt: c.Now(), LastSeen: c.Now(),
		ExpiresAt: c.Now().Add(10 * time.Minute)} // no absolute deadline: kept one idle period longer
	long := record(c.Now(), "long", "alice") // kept until its absolute deadline
	for _, rec := range []*sessionkit.Record{short, long} {
		if err := s.Revoke(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.ids) + len(m.users)
	}
	write := func() {
		if err := m.Revoke(ctx, "other", "", c.Now()); err != nil { // already expired
			t.Fatal(err)
		}
	}
	if err := s.RevokeUser(ctx, "bob", c.Now()); err != nil { // kept MaxLifetime
		t.Fatal(err)
	}
	c.Advance(20*time.Minute - time.Second)
	write()
	if size() != 4 {
		t.Fatalf("%d entries one second before the first could go, want 4", size())
	}
	c.Advance(purgeEvery)
	write()
	if size() != 3 { // the expired "other" of this write stays until the next purge
		t.Fatalf("%d entries after the first could go, want 3", size())
	}
	if ok, _ := m.Revoked(ctx, long); !ok {
		t.Fatal("purge dropped a live entry")
	}
	c.Advance(8 * time.Hour)
	if n, err := m.Purge(ctx); err != nil || n != 2 {
		t.Fatalf("Purge after the long session's deadline = %d, %v; want 2", n, err)
	}
	if ok, _ := m.Revoked(ctx, record(start.Add(-time.Hour), "x", "bob")); !ok {
		t.Fatal("purge dropped a user cutoff before MaxLifetime")
	}
	c.Advance(16 * time.Hour)
	if n, err := m.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("Purge after MaxLifetime = %d, %v; want 1", n, err)
	}
	if size() != 0 {
		t.Fatalf("%d entries after all expired, want 0", size())
	}
	// Purges during writes are rate-limited, so writes stay cheap.
	if err := s.Revoke(ctx, short); err != nil {
		t.Fatal(err)
	}
	c.Advance(30 * time.Minute)
	m.mu.Lock()
	m.nextPurge = c.Now().Add(time.Second)
	m.mu.Unlock()
	write()
	if size() != 2 {
		t.Fatal("purged before nextPurge")
	}
}

func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	revs := NewMemoryRevocations(c.Now)
	old := newStore(t, Options{Now: c.Now, Keys: [][]byte{key1}})
	s := newStore(t, Options{Now: c.Now, Keys: [][]byte{key2, key1}, Revocations: revs})
	oldValue := mustSeal(t, old, record(c.Now(), "old", "u0"))

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprint(g, "-", i)
				rec := record(c.Now(), id, "user")
				v, err := s.Seal(ctx, rec)
				if err != nil {
					t.Error(err)
					return
				}
				got, reseal, err := s.OpenReseal(ctx, v)
				if err != nil || got == nil || got.ID != id || reseal {
					t.Errorf("OpenReseal = %v, %v, %v", got, reseal, err)
					return
				}
				if _, reseal, _ := s.OpenReseal(ctx, oldValue); !reseal {
					t.Error("old value does not need a reseal")
					return
				}
				if i%10 == 0 {
					if err := s.Revoke(ctx, rec); err != nil {
						t.Error(err)
					}
					if got := mustOpen(t, s, v); got != nil {
						t.Error("revoked value opens")
					}
				}
				if i%50 == 0 {
					c.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
}

func TestParseRecordRejects(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	good := recordcodec.Append(nil, now, record(now, "id", "u"))
	if _, _, ok := recordcodec.Parse(good); !ok {
		t.Fatal("parseRecord rejects a good encoding")
	}
	for i := range good {
		if _, _, ok := recordcodec.Parse(good[:i]); ok {
			t.Errorf("parseRecord accepts a truncation to %d bytes", i)
		}
	}
	if _, _, ok := recordcodec.Parse(append(good, 0)); ok {
		t.Error("parseRecord accepts trailing bytes")
	}
	// A huge count is rejected before anything is allocated.
	huge := recordcodec.Append(nil, now, &sessionkit.Record{ID: "id"})
	huge = huge[:len(huge)-2]
	huge = append(huge, 0xff, 0xff, 0xff, 0xff, 0x0f, 0)
	if _, _, ok := recordcodec.Parse(huge); ok {
		t.Error("parseRecord accepts a huge count")
	}
}

// TestLogoutRevocationPurged checks that the deny-list entry a logout
// through the manager leaves is purged once the session's absolute
// deadline has passed: the manager hands Revoke the session's real
// deadlines, not a record that keeps the entry for centuries.
func TestLogoutRevocationPurged(t *testing.T) {
	c := newClock()
	revs := NewMemoryRevocations(c.Now)
	s := newStore(t, Options{Now: c.Now, Revocations: revs})
	m, err := sessionkit.New(sessionkit.Config{ClientStore: s, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(cookie string, f func(*sessionkit.Session)) string {
		req := httptest.NewRequest("GET", "https://example.test/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
		}
		rr := httptest.NewRecorder()
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f(m.Session(r.Context()))
		})).ServeHTTP(rr, req)
		for _, ck := range rr.Result().Cookies() {
			return ck.Value
		}
		return ""
	}
	value := serve("", func(s *sessionkit.Session) { _ = s.SetUserID("alice") })
	c.Advance(time.Minute)
	serve(value, func(s *sessionkit.Session) {
		if err := s.Destroy(); err != nil {
			t.Error(err)
		}
	})
	size := func() int {
		revs.mu.Lock()
		defer revs.mu.Unlock()
		return len(revs.ids)
	}
	if size() != 1 {
		t.Fatalf("%d deny-list entries after logout, want 1", size())
	}
	c.Advance(sessionkit.DefaultLifetime + purgeEvery)
	if _, err := revs.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if size() != 0 {
		t.Fatal("the logout's deny-list entry outlived the session's absolute deadline")
	}
}

// TestRevokeWithoutLastSeen checks that a record without LastSeen and
// AbsoluteExpiry is kept until its ExpiresAt, not for centuries.
func TestRevokeWithoutLastSeen(t *testing.T) {
	c := newClock()
	m := NewMemoryRevocations(c.Now)
	s := newStore(t, Options{Now: c.Now, Revocations: m})
	if err := s.Revoke(context.Background(), &sessionkit.Record{ID: "x", ExpiresAt: c.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if until := m.ids["x"]; until.After(c.Now().Add(time.Hour)) {
		t.Fatalf("entry kept until %v, more than an hour", until)
	}
}

// TestMaxLifetime checks that with Revocations a session of a user that
// would outlive the user cutoffs RevokeUser keeps is neither sealed nor
// opened, so that "sign out everywhere" cannot be forgotten while one of
// its sessions lives.
func TestMaxLifetime(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	revs := NewMemoryRevocations(c.Now)
	s := newStore(t, Options{Now: c.Now, Revocations: revs, MaxLifetime: 8 * time.Hour})
	long := newStore(t, Options{Now: c.Now, Revocations: revs, MaxLifetime: 9 * time.Hour})

	ok := record(c.Now(), "a", "alice") // lives exactly 8 hours
	mustOpen(t, s, mustSeal(t, s, ok))
	tooLong := record(c.Now(), "b", "alice")
	tooLong.AbsoluteExpiry = tooLong.AbsoluteExpiry.Add(time.Minute)
	if _, err := s.Seal(ctx, tooLong); err == nil || !strings.Contains(err.Error(), "MaxLifetime") {
		t.Errorf("Seal of a session outliving MaxLifetime = %v, want an error naming MaxLifetime", err)
	}
	if mustOpen(t, s, mustSeal(t, long, tooLong)) != nil {
		t.Error("a session outliving MaxLifetime, sealed under a longer one, opens")
	}
	noDeadline := record(c.Now(), "c", "alice")
	noDeadline.AbsoluteExpiry = time.Time{}
	if _, err := s.Seal(ctx, noDeadline); err == nil {
		t.Error("Seal of a user's session without AbsoluteExpiry succeeded")
	}
	anon := record(c.Now(), "d", "")
	anon.AbsoluteExpiry = time.Time{}
	if mustOpen(t, s, mustSeal(t, s, anon)) == nil {
		t.Error("an anonymous session without AbsoluteExpiry (no user cutoff applies) does not open")
	}
	// Without Revocations MaxLifetime does not matter.
	plain := newStore(t, Options{Now: c.Now, MaxLifetime: time.Hour})
	if mustOpen(t, plain, mustSeal(t, plain, tooLong)) == nil {
		t.Error("MaxLifetime applied without Revocations")
	}
}
