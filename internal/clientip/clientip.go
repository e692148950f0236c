// Package clientip turns client addresses into network keys, for the
// packages that group clients by network (guessing detection per client,
// session binding per network).
package clientip

import (
	"net"
	"net/netip"
)

// Host returns the host part of a RemoteAddr such as "192.0.2.1:1234" or
// "[2001:db8::1]:443", or addr itself when it has no port.
func Host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Network returns the network of ip: the first v4 bits of an IPv4 address
// (an IPv4-mapped IPv6 address counts as IPv4), the first v6 bits of an IPv6
// address, without its zone. ok is false when ip is not an address.
func Network(ip string, v4, v6 int) (p netip.Prefix, ok bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}, false
	}
	addr = addr.Unmap().WithZone("")
	bits := v6
	if addr.Is4() {
		bits = v4
	}
	p, err = addr.Prefix(min(max(bits, 0), addr.BitLen()))
	return p, err == nil
}

// Key returns the network of ip as a string (see Network): "192.0.2.1/32",
// "2001:db8::/64". A value that is not an address is returned as it is.
func Key(ip string, v4, v6 int) string {
	if p, ok := Network(ip, v4, v6); ok {
		return p.String()
	}
	return ip
}
