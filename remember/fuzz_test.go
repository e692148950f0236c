package remember

import (
	"bytes"
	"testing"
)

// FuzzParseValue checks that the cookie parser never panics and accepts
// only the canonical form that Issue writes.
func FuzzParseValue(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, v string) {
		sel, validator, err := parseValue(v)
		if err != nil {
			if sel != "" || validator != nil {
				t.Fatalf("parseValue(%q) returned data with error %v", v, err)
			}
			return
		}
		selBytes, err := enc.DecodeString(sel)
		if err != nil || len(selBytes) != selectorBytes || len(validator) != validatorBytes {
			t.Fatalf("parseValue(%q) = %q, %d bytes", v, sel, len(validator))
		}
		if again := sel + "." + enc.EncodeToString(validator); again != v {
			t.Fatalf("parseValue(%q) accepted a non-canonical value (canonical %q)", v, again)
		}
		if bytes.ContainsAny([]byte(v), "=+/ ;,\"") {
			t.Fatalf("parseValue(%q) accepted a character outside base64url", v)
		}
	})
}
