package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// newTransport returns the Fetcher's own transport: no proxy (a proxy from
// the environment would both read env vars and defeat the address check),
// our own dialers, and no transparent gzip (we ask for it ourselves).
func (f *Fetcher) newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            f.dialContext,
		DialTLSContext:         f.dialTLSContext,
		DisableCompression:     true,
		MaxIdleConnsPerHost:    f.cfg.PerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// dialer returns the net.Dialer for one connection. Unless AllowPrivate is
// set, its ControlContext checks the address being dialled, after DNS and
// before connect(2), so a name that resolves (or re-resolves) to an
// internal address, or a redirect to one, never gets a connection.
func (f *Fetcher) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: f.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !f.cfg.AllowPrivate {
		d.ControlContext = checkDialAddr
	}
	return d
}

// checkDialAddr is a net.Dialer ControlContext that refuses addresses that
// are not globally reachable.
func checkDialAddr(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("check %s address %q: %w", network, address, ErrBlocked)
	}
	if !IsGlobal(ap.Addr()) {
		return fmt.Errorf("check %s address %s: %w", network, ap.Addr(), ErrBlocked)
	}
	return nil
}

// dialContext dials a TCP connection for addr (host:port) within the
// connect timeout.
func (f *Fetcher) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := f.dialer()
	if f.cfg.Resolver == nil {
		return d.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return d.DialContext(ctx, network, addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.ConnectTimeout)
	defer cancel()
	ips, err := f.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(ips) == 0 {
		err = errors.New("no such host")
	}
	if err != nil {
		dnsErr := &net.DNSError{Err: err.Error(), Name: host, UnwrapErr: err, IsNotFound: len(ips) == 0}
		return nil, &net.OpError{Op: "dial", Net: network, Err: dnsErr}
	}
	var errs []error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(p)).String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errs[0] // as net.Dialer does: the first error is the telling one
}

// dialTLSContext dials and completes a TLS handshake within the connect
// timeout. It is ours rather than net/http's so that a handshake failure can
// be told apart (ClassTLS); the price is HTTP/1.1 only, which is all a
// calendar feed needs.
func (f *Fetcher) dialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.ConnectTimeout)
	defer cancel()
	conn, err := f.dialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: host,
		RootCAs:    f.cfg.RootCAs,
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, &tlsError{err: err}
	}
	return tc, nil
}
