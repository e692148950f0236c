package clientip

import (
	"net/netip"
	"testing"
)

func TestKey(t *testing.T) {
	for _, tc := range []struct{ ip, v4_32, v4_24 string }{
		{"192.0.2.1", "192.0.2.1/32", "192.0.2.0/24"},
		{"::ffff:192.0.2.1", "192.0.2.1/32", "192.0.2.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64", "fe80::/64"},
		{"not an ip", "not an ip", "not an ip"},
		{"", "", ""},
	} {
		if got := Key(tc.ip, 32, 64); got != tc.v4_32 {
			t.Errorf("Key(%q, 32, 64) = %q; want %q", tc.ip, got, tc.v4_32)
		}
		if got := Key(tc.ip, 24, 64); got != tc.v4_24 {
			t.Errorf("Key(%q, 24, 64) = %q; want %q", tc.ip, got, tc.v4_24)
		}
	}
}

func TestNetworkClampsBits(t *testing.T) {
	for _, bits := range []int{-1, 0, 200} {
		if _, ok := Network("2001:db8::1", bits, bits); !ok {
			t.Errorf("Network with %d bits: not ok", bits)
		}
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:1234": "192.0.2.1", "[2001:db8::1]:443": "2001:db8::1", "192.0.2.1": "192.0.2.1", "@": "@",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzKey checks that Key never panics, that a key is stable under a second
// application, and that every address of one network shares a key.
func FuzzKey(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1", "fe80::1%eth0", "", "x", "1.2.3.4:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ip string) {
		k := Key(ip, 24, 64)
		p, ok := Network(ip, 24, 64)
		if !ok {
			if k != ip {
				t.Fatalf("Key(%q) = %q; want the input back", ip, k)
			}
			return
		}
		if Key(p.Addr().String(), 24, 64) != k {
			t.Fatalf("Key of the network's first address differs from %q", k)
		}
		if a, err := netip.ParseAddr(ip); err == nil && !p.Contains(a.Unmap().WithZone("")) {
			t.Fatalf("Network(%q) = %v does not contain the address", ip, p)
		}
	})
}
