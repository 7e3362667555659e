package fetch_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/fetch"
)

// benchBody returns a calendar of about size bytes.
func benchBody(size int) []byte {
	var b bytes.Buffer
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//elmcity//bench//EN\r\n")
	for i := 0; b.Len() < size-16; i++ {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%d@example.org\r\nDTSTAMP:20240101T000000Z\r\n"+
			"DTSTART:20240105T190000Z\r\nSUMMARY:Concert %d at the Café\r\n"+
			"DESCRIPTION:%s\r\nEND:VEVENT\r\n", i, i, strings.Repeat("Music and more. ", 8))
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.Bytes()
}

// BenchmarkFetch compares Fetch with a bare http.Get and io.ReadAll of the
// same body (impl=nethttp, the baseline), plain and gzip-encoded.
func BenchmarkFetch(b *testing.B) {
	for _, size := range []int{4 << 20} {
		body := benchBody(size)
		zipped := gzipped(b, body)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/gzip" && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = w.Write(zipped)
				return
			}
			_, _ = w.Write(body)
		}))
		b.Cleanup(srv.Close)
		for _, enc := range []string{"plain", "gzip"} {
			url := srv.URL + "/" + enc
			name := fmt.Sprintf("body=%dMB/enc=%s", size>>20, enc)
			b.Run(name+"/impl=nethttp", func(b *testing.B) {
				tr := &http.Transport{}
				b.Cleanup(tr.CloseIdleConnections)
				client := &http.Client{Transport: tr}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					resp, err := client.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					got, err := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if err != nil || len(got) != len(body) {
						b.Fatalf("ReadAll() = %d bytes, %v", len(got), err)
					}
				}
			})
			b.Run(name+"/impl=fetch", func(b *testing.B) {
				f := newFetcher(b, fetch.Config{AllowPrivate: true})
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					res, err := f.Fetch(b.Context(), url, fetch.Validators{})
					if err != nil || len(res.Body) != len(body) {
						b.Fatalf("Fetch() = %d bytes, %v", len(res.Body), err)
					}
				}
			})
		}
	}
}
