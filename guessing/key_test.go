package guessing_test

import (
	"net"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/sessionkit/sessionkit/guessing"
)

func clientKey(remote string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	return guessing.ClientKey(r)
}

func TestClientKey(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1/32",
		"192.0.2.1":                  "192.0.2.1/32",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1/32",
		"[2001:db8:a:b:c:d:e:f]:443": "2001:db8:a:b::/64",
		"[2001:db8:a:b::1]:1":        "2001:db8:a:b::/64",
		"[fe80::1%eth0]:8080":        "fe80::/64",
		"2001:db8::1":                "2001:db8::/64",
		"":                           "",
		"@":                          "@",
		"/run/app.sock":              "/run/app.sock",
		"[2001:db8:a:b::1]:notaport": "2001:db8:a:b::/64",
	} {
		if got := clientKey(remote); got != want {
			t.Errorf("ClientKey(RemoteAddr %q) = %q; want %q", remote, got, want)
		}
	}
}

// FuzzClientKey: the key never panics; every address of one IPv6 /64 (or
// one IPv4 address) gets one key, whatever its port or zone.
func FuzzClientKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, remote string) {
		k := clientKey(remote)
		host := remote
		if h, _, err := net.SplitHostPort(remote); err == nil {
			host = h
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return
		}
		a = a.Unmap().WithZone("")
		p, err := netip.ParsePrefix(k)
		if err != nil {
			t.Fatalf("ClientKey(%q) = %q: not a prefix", remote, k)
		}
		if !p.Contains(a) || (a.Is4() && p.Bits() != 32) || (a.Is6() && p.Bits() != 64) {
			t.Fatalf("ClientKey(%q) = %q; want the /32 or /64 around %v", remote, k, a)
		}
		if a.Is6() {
			b := a.As16()
			b[15] ^= 0xff
			if other := clientKey("[" + netip.AddrFrom16(b).String() + "]:1"); other != k {
				t.Fatalf("same /64, different keys: %q and %q", k, other)
			}
		}
	})
}
