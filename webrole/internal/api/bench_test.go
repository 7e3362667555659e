package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// BenchmarkLogInfo serves /services/{hub}/log_info for a hub with 1,000
// info entries through a real HTTP server on 127.0.0.1 with parallel
// clients, next to a plain Go handler that reads and renders the same
// entries without a script, and a bare Gin hello endpoint. It reports
// requests/s and the p99 latency, so the script's overhead reads as a
// ratio:
//
//	go test -run '^$' -bench LogInfo -benchtime 200x ./webrole/internal/api/
func BenchmarkLogInfo(b *testing.B) {
	w := newBenchWorld(b)
	plain := gin.New()
	plain.GET("/plain/:hub", func(c *gin.Context) {
		page, err := w.tlog.Read(c.Request.Context(), tablelog.Query{Hub: c.Param("hub"), Types: []string{"info"}, Limit: 200})
		if err != nil {
			c.Status(http.StatusInternalServerError)
			return
		}
		var sb strings.Builder
		for _, e := range page.Entries {
			fmt.Fprintf(&sb, "%s %s %s/%s %s\n\n", e.Time.UTC().Format(time.RFC3339), e.Type, e.Role, e.Instance, e.Message)
		}
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(sb.String()))
	})
	hello := gin.New()
	hello.GET("/hello", func(c *gin.Context) { c.String(http.StatusOK, "hello") })

	for _, v := range []struct {
		name, path string
		h          http.Handler
	}{
		{"impl=gin-hello", "/hello", hello},
		{"impl=plain", "/plain/keene", plain},
		{"impl=script", "/services/keene/log_info", w.h},
	} {
		b.Run(v.name, func(b *testing.B) {
			load(b, v.h, v.path, map[string]string{"Authorization": "Bearer " + w.curator})
		})
	}
}

// load is the benchmarks' load generator: it serves h on 127.0.0.1 and
// sends b.N GETs of path (path(i) for the i-th request, when it is a
// func) from 8 parallel keep-alive clients, then reports requests/s and
// the p99 latency. Every answer must be 200, or 304 when hdr sends
// If-None-Match.
func load(b *testing.B, h http.Handler, path any, hdr map[string]string) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	// Identity encoding: Go's transport would otherwise ask for gzip,
	// and the outputs would answer in another representation than the
	// fixed-bytes baseline (and the ETag sent).
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var n atomic.Int64
	get := func() time.Duration {
		p, _ := path.(string)
		if f, ok := path.(func(int64) string); ok {
			p = f(n.Add(1))
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if want := http.StatusOK; resp.StatusCode != want && (hdr["If-None-Match"] == "" || resp.StatusCode != http.StatusNotModified) {
			b.Errorf("GET %s = %d", p, resp.StatusCode)
		}
		return time.Since(start)
	}
	get() // warm: compile the script, fill the cache, open connections
	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			mine = append(mine, get())
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// newBenchWorld is newWorld for a benchmark, with 1,000 info entries.
func newBenchWorld(b *testing.B) world {
	b.Helper()
	w := newWorld(b)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]tablelog.Entry, 1000)
	for i := range entries {
		entries[i] = tablelog.Entry{Hub: "keene", Type: "info", Message: fmt.Sprintf("feed %d fetched: 42 events", i), Time: base.Add(time.Duration(i) * time.Second)}
	}
	if err := w.tlog.Write(context.Background(), entries...); err != nil {
		b.Fatal(err)
	}
	return w
}
