package sessionkit_test

import (
	"net/http"
	"testing"

	"github.com/sessionkit/sessionkit"
)

// name is a string type of its own: Get must decode into it as into a
// string.
type name string

// TestGetString checks that Get decodes strings the same whichever path it
// takes (a plain JSON string, one with escapes, another codec), into string
// and into a type whose underlying type is string, and that a plain string
// costs only its own bytes.
func TestGetString(t *testing.T) {
	values := map[string]string{"plain": "gopher", "escaped": "a \"quoted\"\n\u00e9", "empty": ""}
	for _, codec := range []sessionkit.Codec{sessionkit.JSONCodec{}, sessionkit.GobCodec{}} {
		m := newManager(t, sessionkit.Config{Codec: codec})
		res := serve(m, "", func(w http.ResponseWriter, r *http.Request) {
			s := m.Session(r.Context())
			for k, v := range values {
				if err := s.Put(k, v); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Put("number", 42); err != nil {
				t.Fatal(err)
			}
		})
		serve(m, sessionCookie(res).Value, func(w http.ResponseWriter, r *http.Request) {
			s := m.Session(r.Context())
			for k, want := range values {
				if got, ok, err := sessionkit.Get[string](s, k); got != want || !ok || err != nil {
					t.Errorf("%T: Get[string](%q) = %q, %v, %v; want %q", codec, k, got, ok, err, want)
				}
				if got, ok, err := sessionkit.Get[name](s, k); got != name(want) || !ok || err != nil {
					t.Errorf("%T: Get[name](%q) = %q, %v, %v; want %q", codec, k, got, ok, err, want)
				}
			}
			if got, ok, err := sessionkit.Get[string](s, "number"); got != "" || !ok || err == nil {
				t.Errorf("%T: Get[string] of a number = %q, %v, %v; want an error", codec, got, ok, err)
			}
			if got, ok, err := sessionkit.Get[string](s, "missing"); got != "" || ok || err != nil {
				t.Errorf("%T: Get[string] of a missing key = %q, %v, %v", codec, got, ok, err)
			}
			if _, isJSON := codec.(sessionkit.JSONCodec); !isJSON {
				return
			}
			allocs := testing.AllocsPerRun(100, func() { sessionkit.Get[string](s, "plain") })
			if allocs > 1 {
				t.Errorf("Get[string] of a plain string: %v allocations; want 1, the string", allocs)
			}
		})
	}
}
