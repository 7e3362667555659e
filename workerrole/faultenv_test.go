//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// This file holds the fault test's machinery: processes with their
// stdout in files, a private Azurite that can be stopped and started
// again on the same data folder, a feed server that can hang and answer
// 304, readers that poll the public outputs, and the comparison of the
// roles' stdout with the table log.

// faultProc is a process the fault test started, with its stdout and
// stderr in files.
type faultProc struct {
	name           string
	stdout, stderr string
	cmd            *exec.Cmd
	exited         chan struct{}
	waitErr        error // set before exited is closed
}

// startProc starts bin with args and exactly env (plus PATH, HOME and
// TMPDIR), writing its output to dir/name.stdout and dir/name.stderr. It
// is stopped at cleanup if the test did not stop it.
func startProc(t *testing.T, dir, name, bin string, args []string, env map[string]string) *faultProc {
	t.Helper()
	p := &faultProc{name: name, stdout: filepath.Join(dir, name+".stdout"), stderr: filepath.Join(dir, name+".stderr"),
		exited: make(chan struct{})}
	out, err := os.Create(p.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = out.Close() }()
	errf, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = errf.Close() }()
	cmd := exec.Command(bin, args...)
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = out, errf
	cmd.SysProcAttr = faultProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(20 * time.Second) })
	return p
}

// running reports whether the process has not exited.
func (p *faultProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits up to timeout for the process to exit,
// then kills it. It reports whether it exited by itself.
func (p *faultProc) stop(timeout time.Duration) bool {
	if !p.running() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *faultProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// logRecord is one JSON line of a role's stdout.
type logRecord struct {
	proc  string
	line  int
	Time  time.Time
	Level slog.Level
	Msg   string
	attrs map[string]any
}

// str returns a string attribute, or "".
func (r logRecord) str(key string) string {
	s, _ := r.attrs[key].(string)
	return s
}

func (r logRecord) String() string {
	return fmt.Sprintf("%s:%d %s %s %q hub=%q", r.proc, r.line, r.Time.Format(time.RFC3339Nano), r.Level, r.Msg, r.str("hub"))
}

// records parses the process's stdout so far. A line that is not JSON
// (the last one, half written) is skipped.
func (p *faultProc) records() []logRecord {
	data, err := os.ReadFile(p.stdout)
	if err != nil {
		return nil
	}
	var out []logRecord
	n := 0
	for line := range bytes.Lines(data) {
		n++
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		r := logRecord{proc: p.name, line: n, attrs: m}
		r.Msg, _ = m["msg"].(string)
		ts, _ := m["time"].(string)
		r.Time, _ = time.Parse(time.RFC3339Nano, ts)
		lv, _ := m["level"].(string)
		_ = r.Level.UnmarshalText([]byte(lv))
		out = append(out, r)
	}
	return out
}

// waitRecord polls the process's stdout until a record matches, and
// returns it; it fails the test after timeout.
func (p *faultProc) waitRecord(t *testing.T, what string, timeout time.Duration, match func(logRecord) bool) logRecord {
	t.Helper()
	r, err := p.findRecord(timeout, match)
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v", p.name, what, err)
	}
	return r
}

// findRecord polls the process's stdout until a record matches, the
// process exits or timeout passes.
func (p *faultProc) findRecord(timeout time.Duration, match func(logRecord) bool) (logRecord, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range p.records() {
			if match(r) {
				return r, nil
			}
		}
		if !p.running() {
			return logRecord{}, fmt.Errorf("exited: %v", p.waitErr)
		}
		if time.Now().After(deadline) {
			return logRecord{}, fmt.Errorf("not logged within %v", timeout)
		}
		time.Sleep(100 * time.Millisecond) // polling another process's output
	}
}

// listening waits for the role's "listening" line and returns its address.
func (p *faultProc) listening(t *testing.T) string {
	t.Helper()
	r := p.waitRecord(t, `its "listening" line`, 60*time.Second, func(r logRecord) bool { return r.Msg == "listening" })
	return r.str("addr")
}

// tail returns the last n lines of a file, leaving out the web role's
// access log lines.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for line := range strings.Lines(string(data)) {
		if !strings.Contains(line, `"msg":"http request"`) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

// freePorts returns n free TCP ports on 127.0.0.1 for listeners that
// must get the same port again after a restart: below the kernel's
// ephemeral range where it can tell (so no outgoing connection or port-0
// listener of another process takes one meanwhile), and never in the
// blocks that developers' Azurite (10000-10002) and `make test`'s (10100
// up) use.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	low := 0
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			low, _ = strconv.Atoi(f[0])
		}
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	var ports []int
	for try := 0; len(ports) < n && try < 1000; try++ {
		addr := "127.0.0.1:0"
		if low > 20100 {
			addr = fmt.Sprintf("127.0.0.1:%d", 20000+rand.N(low-20000))
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken
		}
		lns = append(lns, ln)
		if port := ln.Addr().(*net.TCPAddr).Port; port < 10000 || port >= 10200 {
			ports = append(ports, port)
		}
	}
	if len(ports) < n {
		t.Fatalf("found %d free ports, want %d", len(ports), n)
	}
	return ports
}

// azurite is the test's own Azurite on free ports, with a data folder
// that outlives a stop, so it can be started again with the same data.
type azurite struct {
	bin, data, logDir string
	ports             []int
	proc              *faultProc
	starts            int
}

const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

func newAzurite(t *testing.T, logDir string) *azurite {
	t.Helper()
	bin, err := filepath.Abs("../node_modules/.bin/azurite")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Azurite is not installed (npm ci at the repository root; make test does it): %v", err)
	}
	a := &azurite{bin: bin, data: filepath.Join(t.TempDir(), "azurite-data"), logDir: logDir, ports: freePorts(t, 3)}
	a.start(t)
	return a
}

// conn is the connection string of the private account.
func (a *azurite) conn() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;"+
		"BlobEndpoint=http://127.0.0.1:%d/devstoreaccount1;QueueEndpoint=http://127.0.0.1:%d/devstoreaccount1;"+
		"TableEndpoint=http://127.0.0.1:%d/devstoreaccount1;", azuriteKey, a.ports[0], a.ports[1], a.ports[2])
}

// start runs Azurite on the test's ports and data folder, as
// tools/azurite.sh does, and waits until its three ports answer.
func (a *azurite) start(t *testing.T) {
	t.Helper()
	a.starts++
	args := []string{"--silent", "--skipApiVersionCheck", "--disableTelemetry", "--location", a.data,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(a.ports[0]),
		"--queueHost", "127.0.0.1", "--queuePort", strconv.Itoa(a.ports[1]),
		"--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(a.ports[2])}
	a.proc = startProc(t, a.logDir, fmt.Sprintf("azurite-%d", a.starts), a.bin, args, nil)
	deadline := time.Now().Add(60 * time.Second)
	for _, port := range a.ports {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
			if err == nil {
				_ = c.Close()
				break
			}
			if !a.proc.running() || time.Now().After(deadline) {
				t.Fatalf("Azurite did not start on port %d: %v\n%s", port, a.proc.waitErr, tail(a.proc.stdout, 20)+tail(a.proc.stderr, 20))
			}
			time.Sleep(100 * time.Millisecond) // polling Azurite's ports
		}
	}
}

// stop sends SIGTERM and waits for Azurite to close its services and
// exit; a kill instead would lose what it had not saved.
func (a *azurite) stop(t *testing.T) {
	t.Helper()
	if !a.proc.stop(30 * time.Second) {
		t.Errorf("Azurite did not exit within 30s of SIGTERM and was killed")
	}
}

// faultFeed is the contributors' feed: every event title starts with
// "elmgen<version> ", so a reader can tell generations apart. It can be
// held (requests wait until released), and answers 304 to a matching
// If-None-Match.
type faultFeed struct {
	srv  *httptest.Server
	base time.Time

	mu          sync.Mutex
	version     int
	gate        *feedGate
	inflight    int
	maxInflight int
	full        int // 200 answers
	notModified int // 304 answers
}

// feedGate holds requests until release is closed; arrived is closed
// when the first request comes.
type feedGate struct {
	release, arrived chan struct{}
	once             sync.Once
}

// faultEvents is how many events the feed lists.
const faultEvents = 8

func newFaultFeed(t *testing.T, version int) *faultFeed {
	t.Helper()
	now := time.Now().UTC()
	f := &faultFeed{version: version, base: time.Date(now.Year(), now.Month(), now.Day(), 18, 0, 0, 0, time.UTC)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *faultFeed) url() string { return f.srv.URL + "/library.ics" }

// body is the feed at version v: faultEvents daily events from tomorrow,
// the same UIDs in every version.
func (f *faultFeed) body(v int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//elmcity//fault test//EN\r\nX-WR-CALNAME:Fault Library\r\n")
	for i := 1; i <= faultEvents; i++ {
		start := f.base.AddDate(0, 0, i)
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:fault-%d@library.elmcity.test\r\nDTSTAMP:20260101T000000Z\r\n"+
			"DTSTART:%s\r\nDTEND:%s\r\nSUMMARY:elmgen%d Reading hour %d\r\nCATEGORIES:books\r\nEND:VEVENT\r\n",
			i, start.Format("20060102T150405Z"), start.Add(time.Hour).Format("20060102T150405Z"), v, i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func (f *faultFeed) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	g := f.gate
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if g != nil {
		g.once.Do(func() { close(g.arrived) })
		select {
		case <-g.release:
		case <-r.Context().Done():
			return // the worker gave up or was killed
		}
	}
	f.mu.Lock()
	v := f.version
	etag := fmt.Sprintf(`"v%d"`, v)
	if r.Header.Get("If-None-Match") == etag {
		f.notModified++
		f.mu.Unlock()
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f.full++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("ETag", etag)
	_, _ = w.Write(f.body(v))
}

// hold makes requests wait from now on; the channel is closed when the
// first one arrives.
func (f *faultFeed) hold() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = &feedGate{release: make(chan struct{}), arrived: make(chan struct{})}
	return f.gate.arrived
}

// release sets the version and lets held requests (and later ones)
// through.
func (f *faultFeed) release(version int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version = version
	if f.gate != nil {
		close(f.gate.release)
		f.gate = nil
	}
}

// counts returns the 200 and 304 answers so far and the most requests
// in flight at once since resetInflight.
func (f *faultFeed) counts() (full, notModified, maxInflight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.full, f.notModified, f.maxInflight
}

func (f *faultFeed) resetInflight() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maxInflight = f.inflight
}

// markerRe finds the version marker in event titles.
var markerRe = regexp.MustCompile(`elmgen(\d+)`)

// view is what a reader makes of one response: the distinct states of
// its events (version, and tags where the format shows them), the
// versions, the generation (JSON only) and duplicate UIDs.
type view struct {
	states   []string
	versions []int
	gen      string
	events   int
	dupes    int
	tags     []string // distinct tags (JSON and ICS)
}

func (v view) mixed() bool { return len(v.states) > 1 }

// version is the view's only version, or -1.
func (v view) version() int {
	if len(v.versions) != 1 {
		return -1
	}
	return v.versions[0]
}

func markerOf(s string) int {
	m := markerRe.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// summarize fills states and versions from per-event states.
func summarize(v *view, perEvent []string, versions []int, tags []string) {
	slices.Sort(perEvent)
	v.states = slices.Compact(perEvent)
	slices.Sort(versions)
	v.versions = slices.Compact(versions)
	slices.Sort(tags)
	v.tags = slices.Compact(tags)
}

// parseView reads a public output of the given kind.
func parseView(kind string, body []byte) (view, error) {
	var v view
	var states, tags []string
	var versions []int
	switch kind {
	case "json":
		var doc struct {
			Generation string `json:"generation"`
			Events     []struct {
				UID   string   `json:"uid"`
				Title string   `json:"title"`
				Tags  []string `json:"tags"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return v, err
		}
		v.gen = doc.Generation
		seen := map[string]bool{}
		for _, e := range doc.Events {
			if seen[e.UID] {
				v.dupes++
			}
			seen[e.UID] = true
			et := slices.Clone(e.Tags)
			slices.Sort(et)
			n := markerOf(e.Title)
			states = append(states, fmt.Sprintf("v%d %s", n, strings.Join(et, ",")))
			versions = append(versions, n)
			tags = append(tags, et...)
		}
		v.events = len(doc.Events)
	case "ics":
		unfolded := strings.NewReplacer("\r\n ", "", "\r\n\t", "").Replace(string(body))
		in := false
		var summary, cats, uid string
		seen := map[string]bool{}
		for line := range strings.Lines(unfolded) {
			line = strings.TrimRight(line, "\r\n")
			name, value, _ := strings.Cut(line, ":")
			name, _, _ = strings.Cut(name, ";")
			switch {
			case line == "BEGIN:VEVENT":
				in, summary, cats, uid = true, "", "", ""
			case line == "END:VEVENT":
				in = false
				if seen[uid] {
					v.dupes++
				}
				seen[uid] = true
				n := markerOf(summary)
				states = append(states, fmt.Sprintf("v%d %s", n, strings.ToLower(cats)))
				versions = append(versions, n)
				if cats != "" {
					tags = append(tags, strings.Split(strings.ToLower(cats), ",")...)
				}
				v.events++
			case in && name == "SUMMARY":
				summary = value
			case in && name == "CATEGORIES":
				cats = value
			case in && name == "UID":
				uid = value
			}
		}
	case "html":
		for _, m := range markerRe.FindAllStringSubmatch(string(body), -1) {
			n, _ := strconv.Atoi(m[1])
			states = append(states, "v"+m[1])
			versions = append(versions, n)
			v.events++
		}
	default:
		return v, fmt.Errorf("unknown kind %q", kind)
	}
	summarize(&v, states, versions, tags)
	return v, nil
}

// faultRead is one reader request.
type faultRead struct {
	reader  string
	kind    string
	at      time.Time
	latency time.Duration
	status  int
	err     string
	cached  bool // the web role had served the hub's calendar before
	view    view
}

// failed reports a read that did not get the calendar.
func (r faultRead) failed() bool { return r.err != "" || r.status != http.StatusOK }

// faultReaders poll the public outputs through the whole test.
type faultReaders struct {
	served atomic.Bool // the web role has served the hub's calendar once

	mu    sync.Mutex
	reads []faultRead

	done     chan struct{} // closed by stop
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// readerSpec is one reader: a name, a path and how to read the answer.
type readerSpec struct{ name, path, kind string }

func startReaders(base string, specs []readerSpec) *faultReaders {
	rs := &faultReaders{done: make(chan struct{})}
	for _, s := range specs {
		rs.wg.Go(func() { rs.loop(s, base+s.path) })
	}
	return rs
}

// stop ends the readers, each after its request in flight, and waits for
// them. (Hanging up mid-request would be a client gone, not a read.)
func (rs *faultReaders) stop() {
	rs.stopOnce.Do(func() { close(rs.done) })
	rs.wg.Wait()
}

func (rs *faultReaders) loop(s readerSpec, url string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for {
		r := faultRead{reader: s.name, kind: s.kind, at: time.Now(), cached: rs.served.Load()}
		resp, err := client.Get(url)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			r.status = resp.StatusCode
			if err == nil && resp.StatusCode == http.StatusOK {
				r.view, err = parseView(s.kind, body)
			}
		}
		r.latency = time.Since(r.at)
		if err != nil {
			r.err = err.Error()
		}
		if !r.failed() {
			rs.served.Store(true)
		}
		rs.mu.Lock()
		rs.reads = append(rs.reads, r)
		rs.mu.Unlock()
		// Each reader asks every 50 to 100 ms.
		t := time.NewTimer(50*time.Millisecond + rand.N(50*time.Millisecond))
		select {
		case <-rs.done:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// snapshot returns the reads so far.
func (rs *faultReaders) snapshot() []faultRead {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.reads)
}

// readFigures sums up the readers' reads.
type readFigures struct {
	total, cached, failed, slow, mixed, dupes, regressions, incomplete int
	waited                                                             int // cached reads of 250 ms or more: a due storage check held them
	p50, p99, max                                                      time.Duration
	bad                                                                []faultRead // failed, slow, mixed, incomplete or gone back
}

// slowRead is the longest a cached read may take.
const slowRead = time.Second

func sumReads(reads []faultRead) readFigures {
	var f readFigures
	var lat []time.Duration
	newest := map[string]int{} // the highest version each reader saw
	for _, r := range reads {
		f.total++
		bad := false
		if r.view.mixed() {
			f.mixed++
			bad = true
		}
		if r.view.dupes > 0 {
			f.dupes++
			bad = true
		}
		// A calendar served whole: every view shows a version, and the
		// JSON and ICS list every event.
		if !r.failed() && (slices.Contains(r.view.versions, 0) || len(r.view.versions) == 0 ||
			r.kind != "html" && r.view.events != faultEvents) {
			f.incomplete++
			bad = true
		}
		if v := slices.Max(append([]int{0}, r.view.versions...)); !r.failed() {
			if v < newest[r.reader] {
				f.regressions++
				bad = true
			}
			newest[r.reader] = max(newest[r.reader], v)
		}
		if r.cached {
			f.cached++
			lat = append(lat, r.latency)
			if r.failed() {
				f.failed++
				bad = true
			}
			if r.latency > slowRead {
				f.slow++
				bad = true
			}
			if r.latency >= 250*time.Millisecond {
				f.waited++
			}
		}
		if bad {
			f.bad = append(f.bad, r)
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		f.p50 = lat[len(lat)/2]
		f.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
		f.max = lat[len(lat)-1]
	}
	return f
}

// tableBound says where the table log handler sends a stdout record
// (shared/tablelog/handler.go): a record whose "hub" is a valid hub id
// or "~system" goes to that partition at info and above; any other goes
// to "~system" at warn and above. Records of the console-only loggers
// never reach it: the table log's own reports (boot hands it the console
// logger) and http.Server's error log, which carries no role.
func tableBound(r logRecord) (partition string, ok bool) {
	if _, hasRole := r.attrs["role"]; !hasRole || strings.HasPrefix(r.Msg, "table log ") {
		return "", false
	}
	if hub, isString := r.attrs["hub"].(string); isString && (tablelog.ValidID(hub) || hub == tablelog.System) {
		return hub, r.Level >= slog.LevelInfo
	}
	return tablelog.System, r.Level >= slog.LevelWarn
}

// logFigures compares the roles' stdout with the table log.
type logFigures struct {
	stdout       int // records the table log handler takes
	found        int
	tableEntries int // entries in the partitions read
	lostToKill   []logRecord
	missing      []logRecord
}

// compareLogs looks up every table-bound stdout record of procs in the
// table, by partition, time (the RowKey keeps the record's time to the
// nanosecond) and message. Records a SIGKILLed process wrote after its
// cutoff (when the test last saw its table log flushed) are counted as
// lost to the kill, not missing.
func compareLogs(ctx context.Context, tl *tablelog.Log, procs []*faultProc, cutoff map[*faultProc]time.Time) (logFigures, error) {
	var f logFigures
	type bound struct {
		logRecord
		part string
	}
	var want []bound
	parts := map[string]bool{tablelog.System: true}
	for _, p := range procs {
		for _, r := range p.records() {
			if part, ok := tableBound(r); ok {
				want = append(want, bound{r, part})
				parts[part] = true
			}
		}
	}
	type key struct {
		part string
		ns   int64
	}
	have := map[key][]tablelog.Entry{}
	for part := range parts {
		after := ""
		for {
			page, err := tl.Read(ctx, tablelog.Query{Hub: part, Limit: tablelog.MaxLimit, After: after})
			if err != nil {
				return f, err
			}
			for _, e := range page.Entries {
				k := key{part, e.Time.UnixNano()}
				have[k] = append(have[k], e)
				f.tableEntries++
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
	}
	for _, w := range want {
		r := w.logRecord
		f.stdout++
		k := key{w.part, r.Time.UnixNano()}
		i := slices.IndexFunc(have[k], func(e tablelog.Entry) bool {
			return sameMessage(e.Message, r.Msg) || e.Attrs[tablelog.KeyMsg] == r.Msg
		})
		if i >= 0 {
			f.found++
			have[k] = slices.Delete(have[k], i, i+1)
			continue
		}
		if c, killed := cutoff[procOf(procs, r.proc)]; killed && r.Time.After(c) {
			f.lostToKill = append(f.lostToKill, r)
			continue
		}
		f.missing = append(f.missing, r)
	}
	sort.Slice(f.missing, func(i, j int) bool { return f.missing[i].Time.Before(f.missing[j].Time) })
	return f, nil
}

func procOf(procs []*faultProc, name string) *faultProc {
	for _, p := range procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// sameMessage compares a stored message with the record's, which the
// table log cuts at tablelog.MaxMessageBytes.
func sameMessage(stored, msg string) bool {
	if stored == msg {
		return true
	}
	head, _, cut := strings.Cut(stored, "…[truncated, ")
	return cut && strings.HasPrefix(msg, head)
}

// webClient calls the web role's API.
type webClient struct {
	base   string
	client *http.Client
}

// call sends a request with a bearer token and an optional JSON body and
// extra header pairs, and returns the status, headers and body.
func (w webClient) call(t *testing.T, method, path, token string, body any, header ...string) (int, http.Header, []byte) {
	t.Helper()
	status, h, b, err := w.try(method, path, token, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, h, b
}

func (w webClient) try(method, path, token string, body any, header ...string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// want checks the status of a call and decodes its JSON answer into out
// (when not nil).
func (w webClient) want(t *testing.T, status int, method, path, token string, body, out any, header ...string) http.Header {
	t.Helper()
	got, h, b := w.call(t, method, path, token, body, header...)
	if got != status {
		t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return h
}

// keepLogs copies the processes' output to a folder that outlives the
// test, for a failed run, and prints the end of each.
func keepLogs(t *testing.T, dir string) {
	kept, err := os.MkdirTemp("", "elmcity-faults-")
	if err != nil {
		t.Logf("keep logs: %v", err)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		src := filepath.Join(dir, e.Name())
		if data, err := os.ReadFile(src); err == nil {
			_ = os.WriteFile(filepath.Join(kept, e.Name()), data, 0o644)
		}
		t.Logf("--- %s (last lines, access log left out):\n%s", e.Name(), tail(src, 15))
	}
	t.Logf("process output kept in %s", kept)
}

// metric reads one unlabelled metric from a Prometheus text endpoint.
func metric(addr, name string) (float64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New(name + " not found")
}
