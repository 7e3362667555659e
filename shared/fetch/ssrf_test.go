package fetch_test

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/fetch"
)

func TestIsGlobal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{addr: "8.8.8.8", want: true},
		{addr: "93.184.215.14", want: true},
		{addr: "2606:4700:4700::1111", want: true},
		{addr: "::ffff:8.8.8.8", want: true},
		{addr: "64:ff9b::808:808", want: true},
		{addr: "2002:808:808::1", want: true},
		{addr: "127.0.0.1", want: false},
		{addr: "127.1.2.3", want: false},
		{addr: "10.1.2.3", want: false},
		{addr: "172.16.0.1", want: false},
		{addr: "172.31.255.255", want: false},
		{addr: "192.168.1.1", want: false},
		{addr: "169.254.169.254", want: false},
		{addr: "100.64.0.1", want: false},
		{addr: "100.127.255.255", want: false},
		{addr: "0.0.0.0", want: false},
		{addr: "0.1.2.3", want: false},
		{addr: "192.0.0.8", want: false},
		{addr: "192.0.2.1", want: false},
		{addr: "198.18.0.1", want: false},
		{addr: "198.51.100.1", want: false},
		{addr: "203.0.113.1", want: false},
		{addr: "224.0.0.1", want: false},
		{addr: "240.0.0.1", want: false},
		{addr: "255.255.255.255", want: false},
		{addr: "::", want: false},
		{addr: "::1", want: false},
		{addr: "::ffff:127.0.0.1", want: false},
		{addr: "::ffff:169.254.169.254", want: false},
		{addr: "::127.0.0.1", want: false},
		{addr: "fe80::1", want: false},
		{addr: "fe80::1%eth0", want: false},
		{addr: "fc00::1", want: false},
		{addr: "fd12:3456::1", want: false},
		{addr: "fec0::1", want: false},
		{addr: "ff02::1", want: false},
		{addr: "2001:db8::1", want: false},
		{addr: "2001::1", want: false},
		{addr: "64:ff9b::a00:1", want: false},
		{addr: "64:ff9b::a9fe:a9fe", want: false},
		{addr: "64:ff9b:1::1", want: false},
		{addr: "2002:7f00:1::1", want: false},
		{addr: "2002:a00:1::1", want: false},
		{addr: "100::1", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			if got := fetch.IsGlobal(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("IsGlobal(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	if fetch.IsGlobal(netip.Addr{}) {
		t.Errorf("IsGlobal(zero Addr) = true, want false")
	}
}

// TestFetchSSRF checks that a Fetcher without AllowPrivate refuses
// non-global addresses at dial time: the server never sees a connection.
func TestFetchSSRF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		url          func(b testBundle) string // the feed URL, given the loopback server
		allowPrivate bool
		wantBlocked  bool
	}{
		{name: "Loopback", url: func(b testBundle) string { return b.srv.URL }, wantBlocked: true},
		{name: "LoopbackAllowed", url: func(b testBundle) string { return b.srv.URL }, allowPrivate: true},
		{name: "PublicNameToLoopback", url: func(b testBundle) string {
			return "http://calendar.example.com:" + port(t, b.srv) + "/events.ics"
		}, wantBlocked: true},
		{name: "PublicNameToLoopbackAllowed", url: func(b testBundle) string {
			return "http://calendar.example.com:" + port(t, b.srv) + "/events.ics"
		}, allowPrivate: true},
		{name: "WebcalToLoopback", url: func(b testBundle) string {
			return "webcal://calendar.example.com:" + port(t, b.srv) + "/events.ics"
		}, wantBlocked: true},
		{name: "IPv6Loopback", url: func(b testBundle) string { return "http://[::1]:" + port(t, b.srv) + "/" }, wantBlocked: true},
		{name: "MappedLoopback", url: func(b testBundle) string {
			return "http://[::ffff:127.0.0.1]:" + port(t, b.srv) + "/"
		}, wantBlocked: true},
		{name: "Unspecified", url: func(b testBundle) string { return "http://0.0.0.0:" + port(t, b.srv) + "/" }, wantBlocked: true},
		{name: "Metadata", url: func(testBundle) string { return "http://169.254.169.254/latest/meta-data/" }, wantBlocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(calendar))
			})
			f := newFetcher(t, fetch.Config{
				AllowPrivate: tt.allowPrivate,
				Resolver:     mapResolver{"calendar.example.com": loopback()},
			})
			res, err := f.Fetch(t.Context(), tt.url(b), fetch.Validators{})
			if !tt.wantBlocked {
				if err != nil || string(res.Body) != calendar {
					t.Fatalf("Fetch() = %q, %v; want the calendar", res.Body, err)
				}
				return
			}
			wantError(t, err, fetch.ClassBlocked, fetch.ErrBlocked)
			if n := b.conns.Load(); n != 0 {
				t.Errorf("server accepted %d connections, want 0", n)
			}
		})
	}
}

// TestFetchTLS covers webcal over TLS and the tls error class.
func TestFetchTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trusted bool
		plain   bool // an https URL to a plain-HTTP server
		scheme  string
		wantErr fetch.Class
	}{
		{name: "Webcal", trusted: true, scheme: "webcal"},
		{name: "HTTPS", trusted: true, scheme: "https"},
		{name: "Untrusted", scheme: "https", wantErr: fetch.ClassTLS},
		{name: "PlainServer", plain: true, scheme: "https", wantErr: fetch.ClassTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(calendar))
			}))
			srv.Config.ErrorLog = discardLog()
			if tt.plain {
				srv.Start()
			} else {
				srv.StartTLS()
			}
			t.Cleanup(srv.Close)
			cfg := fetch.Config{AllowPrivate: true}
			if tt.trusted {
				cfg.RootCAs = x509.NewCertPool()
				cfg.RootCAs.AddCert(srv.Certificate())
			}
			f := newFetcher(t, cfg)
			hostPort := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
			res, err := f.Fetch(t.Context(), tt.scheme+"://"+hostPort+"/cal.ics", fetch.Validators{})
			if tt.wantErr != "" {
				wantError(t, err, tt.wantErr, nil)
				return
			}
			if err != nil {
				t.Fatalf("Fetch() = %v", err)
			}
			if want := "https://" + hostPort + "/cal.ics"; res.URL != want || string(res.Body) != calendar {
				t.Errorf("Fetch() = %s %q, want %s and the calendar", res.URL, res.Body, want)
			}
		})
	}
}
