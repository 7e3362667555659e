package fetch

import (
	"net/netip"
)

// nonGlobal lists the special-purpose ranges that the IANA IPv4 and IPv6
// Special-Purpose Address Registries mark as not globally reachable, beyond
// those that netip.Addr's Is* methods already recognise. It is hand-written
// because neither the standard library nor x/net has the registry:
// netip.Addr.IsGlobalUnicast is true even for private addresses. It is
// read-only.
var nonGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("100:0:0:1::/64"),  // dummy prefix
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments, incl. Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation
	netip.MustParsePrefix("5f00::/16"),       // SRv6 SIDs
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96") // embeds an IPv4 address in its last 32 bits
	sixTo4 = netip.MustParsePrefix("2002::/16")    // embeds an IPv4 address in bits 16-47
)

// IsGlobal reports whether addr is a globally reachable unicast address,
// the only kind a [Fetcher] dials unless [Config.AllowPrivate] is set. It is
// false for the zero Addr, unspecified, loopback, private (RFC 1918 and
// fc00::/7), link-local (169.254.0.0/16, including the cloud metadata
// address 169.254.169.254, and fe80::/10), multicast, CGNAT (100.64.0.0/10),
// documentation, benchmarking and reserved addresses. IPv4-mapped IPv6
// addresses, and the IPv4 address inside a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address, are judged as IPv4.
func IsGlobal(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsLoopback() || addr.IsPrivate() ||
		addr.IsLinkLocalUnicast() || addr.IsMulticast() {
		return false
	}
	for _, p := range nonGlobal {
		if p.Contains(addr) {
			return false
		}
	}
	b := addr.As16()
	switch {
	case nat64.Contains(addr):
		return IsGlobal(netip.AddrFrom4([4]byte(b[12:16])))
	case sixTo4.Contains(addr):
		return IsGlobal(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}
