package tablelog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/tablelog"
)

// TestMain fails the run if a goroutine outlives the tests: every Log must
// be closed. Idle keep-alive connections of the SDK's shared HTTP transport
// are not ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

const waitTimeout = 30 * time.Second

// testBundle is what most tests need: a Log on a fresh table.
type testBundle struct {
	acct  *azstorage.Account
	table string
	log   *tablelog.Log
	out   *syncBuffer // the Log's own diagnostics (Config.Logger)
}

// setup opens a Log on a new table of the test account. The table is
// deleted and the Log closed when the test ends. cfg.Table and a nil
// cfg.Logger are filled in.
func setup(t testing.TB, cfg tablelog.Config) *testBundle {
	t.Helper()
	acct := storagetest.Account(t)
	// The table is deleted after the Log is closed (cleanups run last in,
	// first out).
	b := &testBundle{acct: acct, table: storagetest.Table(t, acct, "log"), out: &syncBuffer{}}
	cfg.Table = b.table
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(b.out, nil))
	}
	b.log = openLog(t, acct, cfg)
	return b
}

// openLog opens a Log and closes it when the test ends.
func openLog(t testing.TB, acct *azstorage.Account, cfg tablelog.Config) *tablelog.Log {
	t.Helper()
	l, err := tablelog.Open(context.Background(), acct, cfg)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	return l
}

// read runs one Read and fails the test on error.
func read(t testing.TB, l *tablelog.Log, q tablelog.Query) tablelog.Page {
	t.Helper()
	page, err := l.Read(context.Background(), q)
	if err != nil {
		t.Fatalf("Read(%+v) error = %v", q, err)
	}
	return page
}

func flush(t testing.TB, l *tablelog.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
}

func write(t testing.TB, l *tablelog.Log, entries ...tablelog.Entry) {
	t.Helper()
	if err := l.Write(context.Background(), entries...); err != nil {
		t.Fatalf("Write() error = %v", err)
	}
}

// waitOrTimeout waits for ch to be closed or to deliver.
func waitOrTimeout[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v", waitTimeout)
		var zero T
		return zero
	}
}

// stepClock returns a clock that advances by step on every call.
func stepClock(start time.Time, step time.Duration) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)-1) * step) }
}

// messages lists the messages of entries in order.
func messages(entries []tablelog.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Message
	}
	return out
}

// checkNewestFirst fails unless IDs strictly ascend (newest first, no
// duplicates) and times do not increase.
func checkNewestFirst(t testing.TB, entries []tablelog.Entry) {
	t.Helper()
	for i := 1; i < len(entries); i++ {
		if entries[i-1].ID >= entries[i].ID {
			t.Fatalf("entry %d ID %s not before entry %d ID %s", i-1, entries[i-1].ID, i, entries[i].ID)
		}
		if entries[i].Time.After(entries[i-1].Time) {
			t.Fatalf("entry %d time %v after entry %d time %v", i, entries[i].Time, i-1, entries[i-1].Time)
		}
	}
}

// diffEntries compares entries, ignoring ID (assigned by the Log) and
// treating empty and nil Attrs alike, and returns "" when they are equal.
func diffEntries(want, got []tablelog.Entry) string {
	return cmp.Diff(want, got,
		cmpopts.IgnoreFields(tablelog.Entry{}, "ID"),
		cmpopts.EquateEmpty(),
	)
}

// syncBuffer is a bytes.Buffer safe for the Log's writer goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestValidID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{name: "Simple", id: "elmcity", want: true},
		{name: "AllClasses", id: "Ann_Arbor-MI2", want: true},
		{name: "MaxLength", id: strings.Repeat("a", 64), want: true},
		{name: "Empty", id: "", want: false},
		{name: "TooLong", id: strings.Repeat("a", 65), want: false},
		{name: "System", id: tablelog.System, want: false},
		{name: "Quote", id: "x' or PartitionKey ne 'y", want: false},
		{name: "Space", id: "a b", want: false},
		{name: "Slash", id: "a/b", want: false},
		{name: "NonASCII", id: "café", want: false},
		{name: "Dot", id: "a.b", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tablelog.ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	acct := storagetest.Account(t)
	tests := []struct {
		name string
		acct *azstorage.Account
		cfg  tablelog.Config
	}{
		{name: "NilAccount", cfg: tablelog.Config{Table: "valid123"}},
		{name: "TableNameStartsWithDigit", acct: acct, cfg: tablelog.Config{Table: "1log"}},
		{name: "TableNameWithDash", acct: acct, cfg: tablelog.Config{Table: "my-log"}},
		{name: "TableNameTooShort", acct: acct, cfg: tablelog.Config{Table: "ab"}},
		{name: "NegativeBuffer", acct: acct, cfg: tablelog.Config{Table: "valid123", BufferSize: -1}},
		{name: "NegativeInterval", acct: acct, cfg: tablelog.Config{Table: "valid123", FlushInterval: -time.Second}},
		{name: "LongRole", acct: acct, cfg: tablelog.Config{Table: "valid123", Role: strings.Repeat("r", 300)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := tablelog.Open(context.Background(), tt.acct, tt.cfg)
			if !errors.Is(err, tablelog.ErrInvalid) {
				if l != nil {
					_ = l.Close(context.Background())
				}
				t.Fatalf("Open() error = %v, want ErrInvalid", err)
			}
		})
	}

	t.Run("ExistingTable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, tablelog.Config{})
		// A second Log on the same table meets TableAlreadyExists.
		second := openLog(t, b.acct, tablelog.Config{Table: b.table})
		write(t, second, tablelog.Entry{Hub: "h", Message: "second"})
		if got := messages(read(t, b.log, tablelog.Query{Hub: "h"}).Entries); !slices.Equal(got, []string{"second"}) {
			t.Errorf("Read() messages = %q, want [second]", got)
		}
	})
}
