package express_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
)

// Shapes captured from express-session 1.19 (formats reference, §1, §2.7).
const (
	capturedNoMaxAge = `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"John Doe","counter":1}`
	capturedMaxAge   = `{"cookie":{"originalMaxAge":3600000,"expires":"2026-11-26T20:16:05.857Z","httpOnly":true,"path":"/"},"user":"John Doe","counter":1}`
)

func TestRoundTripIsByteExact(t *testing.T) {
	for _, in := range []string{
		capturedNoMaxAge,
		capturedMaxAge,
		`{"cookie":{"originalMaxAge":null,"expires":null,"secure":false,"httpOnly":true,"path":"/","sameSite":"lax"},"big":12345678901234567890,"f":1.10,"e":1e400,"s":"<b>é\u00e9</b>","n":null,"o":{"z":1,"a":[true,false]}}`,
	} {
		s, err := express.Decode([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("round trip\n%s\ngave\n%s", in, out)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"user":"x"}`, `{"cookie":1}`, `{"cookie":{}} {}`, `{"cookie":{},"sessionkit":"x"}`} {
		if _, err := express.Decode([]byte(in)); !errors.Is(err, express.ErrMalformed) {
			t.Errorf("Decode(%q) = %v, want ErrMalformed", in, err)
		}
	}
}

func TestDuplicateKeysAsJavaScript(t *testing.T) {
	s, err := express.Decode([]byte(`{"cookie":{},"a":1,"b":2,"a":3}`))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.Marshal()
	if string(out) != `{"cookie":{},"a":3,"b":2}` {
		t.Errorf("got %s", out)
	}
}

func TestNewCookieShapes(t *testing.T) {
	now := time.Date(2026, 11, 26, 19, 16, 5, 857_000_000, time.UTC)
	yes, no := true, false
	for _, c := range []struct {
		cookie express.Cookie
		want   string
	}{
		{express.Cookie{}, `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}`},
		{express.Cookie{MaxAge: time.Hour}, `{"cookie":{"originalMaxAge":3600000,"expires":"2026-11-26T20:16:05.857Z","httpOnly":true,"path":"/"}`},
		{express.Cookie{Secure: &no, SameSite: "lax"}, `{"cookie":{"originalMaxAge":null,"expires":null,"secure":false,"httpOnly":true,"path":"/","sameSite":"lax"}`},
		{express.Cookie{Secure: &yes, HTTPOnly: &no, Domain: "example.com", Path: "/app", Partitioned: true, Priority: "high", SameSite: "none"},
			`{"cookie":{"originalMaxAge":null,"partitioned":true,"priority":"high","expires":null,"secure":true,"httpOnly":false,"domain":"example.com","path":"/app","sameSite":"none"}`},
	} {
		s, err := express.New(&sessionkit.Record{}, c.cookie, now)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := s.Marshal()
		if !strings.HasPrefix(string(out), c.want+`,"sessionkit":{`) {
			t.Errorf("New(%+v) =\n%s\nwant prefix\n%s", c.cookie, out, c.want)
		}
	}
}

func TestValues(t *testing.T) {
	s, err := express.Decode([]byte(capturedNoMaxAge))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("cookie", []byte("1")); !errors.Is(err, express.ErrReservedKey) {
		t.Errorf("Set(cookie): %v", err)
	}
	if err := s.Set(express.MetaKey, []byte("1")); !errors.Is(err, express.ErrReservedKey) {
		t.Errorf("Set(sessionkit): %v", err)
	}
	if err := s.Set("x", []byte{0x80}); !errors.Is(err, express.ErrNotJSON) {
		t.Errorf("Set(non-JSON): %v", err)
	}
	if err := s.Set("user", []byte(`"Jane"`)); err != nil {
		t.Fatal(err)
	}
	s.Delete("counter")
	s.Delete("cookie") // ignored
	if err := s.Set("z", []byte(`{"a": 1}`)); err != nil {
		t.Fatal(err)
	}
	out, _ := s.Marshal()
	if string(out) != `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"Jane","z":{"a":1}}` {
		t.Errorf("got %s", out)
	}
	s.Clear()
	out, _ = s.Marshal()
	if string(out) != `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"}}` {
		t.Errorf("after Clear: %s", out)
	}
}

func TestTTLAndResetMaxAge(t *testing.T) {
	now := time.Date(2026, 11, 26, 19, 16, 5, 857_000_000, time.UTC)
	s, _ := express.Decode([]byte(capturedMaxAge))
	if d := s.TTL(now, 86400*time.Second); d != time.Hour {
		t.Errorf("TTL = %v, want 1h (until cookie.expires)", d)
	}
	later := now.Add(10 * time.Minute)
	s.ResetMaxAge(later)
	if exp, _ := s.Expires(); !exp.Equal(later.Add(time.Hour)) {
		t.Errorf("expires after ResetMaxAge = %v", exp)
	}
	n, _ := express.Decode([]byte(capturedNoMaxAge))
	if d := n.TTL(now, 86400*time.Second); d != 86400*time.Second {
		t.Errorf("TTL without expires = %v, want the default", d)
	}
	n.ResetMaxAge(now)
	if _, ok := n.Expires(); ok {
		t.Error("ResetMaxAge set expires on a browser-session cookie")
	}
}

func TestRecordDerivesActivity(t *testing.T) {
	now := time.Now()
	const day = 86400 * time.Second
	s, _ := express.Decode([]byte(capturedNoMaxAge))
	// connect-redis set 86400 s ten minutes ago.
	rec := s.Record("sid", now, day-10*time.Minute, day)
	if rec.ID != "sid" || !rec.LastSeen.Equal(now.Add(-10*time.Minute)) || !rec.CreatedAt.Equal(now) ||
		!rec.ExpiresAt.Equal(now.Add(day-10*time.Minute)) || !rec.AbsoluteExpiry.Equal(now.Add(day)) {
		t.Errorf("Record = %+v", rec)
	}
	if string(rec.Values["user"]) != `"John Doe"` || len(rec.Values) != 2 {
		t.Errorf("values %v", rec.Values)
	}

	// Go's metadata wins where it is later; the absolute deadline caps
	// the expiry.
	created := now.Add(-time.Hour)
	d := sessionkit.Delta{UserID: new(string), LastSeen: now.Add(-time.Minute), AbsoluteExpiry: now.Add(time.Hour)}
	*d.UserID = "u1"
	if err := s.Apply(d, &sessionkit.Record{CreatedAt: created}, now); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Marshal()
	s, err := express.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	rec = s.Record("sid", now, day-time.Hour, day)
	if rec.UserID != "u1" || !rec.CreatedAt.Equal(created) || !rec.LastSeen.Equal(now.Add(-time.Minute)) ||
		!rec.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("Record after Apply = %+v", rec)
	}
}
