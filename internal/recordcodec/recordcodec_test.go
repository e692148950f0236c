package recordcodec

import (
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

func TestRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 123456789).UTC()
	rec := &sessionkit.Record{
		ID: "id", UserID: "u", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour),
		Persistent: true,
		Values:     map[string][]byte{"": {}, "a.b": []byte(`"x"`), "bin": {0, 255}},
		Meta:       map[string]string{"ip": "::1"},
	}
	b := Append(nil, now, rec)
	got, issued, ok := Parse(b)
	if !ok || !issued.Equal(now) || got.ID != "id" || got.UserID != "u" || !got.Persistent ||
		!got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(rec.ExpiresAt) || !got.AbsoluteExpiry.IsZero() ||
		len(got.Values) != 3 || string(got.Values["bin"]) != "\x00\xff" || got.Meta["ip"] != "::1" {
		t.Fatalf("Parse(Append(rec)) = %+v, %v, %v", got, issued, ok)
	}
	// Values are slices of the input whose capacity ends with them.
	v := got.Values["a.b"]
	if cap(v) != len(v) {
		t.Fatal("a value's capacity reaches into the rest of the encoding")
	}
	for i := range b {
		if _, _, ok := Parse(b[:i]); ok {
			t.Fatalf("a truncation to %d bytes parsed", i)
		}
	}
	if _, _, ok := Parse(append(b, 0)); ok {
		t.Fatal("trailing bytes parsed")
	}
}
