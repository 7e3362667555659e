package publish_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/publish"
)

func TestKeep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keep     int
		wantKept int
	}{
		{"Default", 0, publish.DefaultKeep},
		{"None", -1, 0},
		{"Three", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, publish.Config{Keep: tt.keep})
			ctx := context.Background()
			var ids []string
			for i := range tt.wantKept + 3 {
				ids = append(ids, b.publish(t, "hub", randomBytes(1000, byte(i))).ID)
			}
			n := len(ids)
			kept := ids[n-1-tt.wantKept : n-1]

			p, err := b.store.Current(ctx, "hub")
			if err != nil {
				t.Fatalf("Current() error = %v", err)
			}
			wantPrev := slices.Clone(kept)
			slices.Reverse(wantPrev) // newest first
			if diff := cmp.Diff(wantPrev, p.Previous, cmpopts.EquateEmpty()); p.ID != ids[n-1] || diff != "" {
				t.Errorf("Current() = %s, previous (-want +got):\n%s", p.ID, diff)
			}
			if diff := cmp.Diff(ids[n-1-tt.wantKept:], slices.Sorted(maps.Keys(b.generations(t, "hub")))); diff != "" {
				t.Errorf("generations stored (-want +got):\n%s", diff)
			}
			for i, id := range ids {
				_, err := b.store.LoadGeneration(ctx, "hub", id)
				switch {
				case i >= n-1-tt.wantKept && err != nil:
					t.Errorf("LoadGeneration(kept %d) error = %v", i, err)
				case i < n-1-tt.wantKept && !errors.Is(err, publish.ErrNotFound):
					t.Errorf("LoadGeneration(dropped %d) error = %v, want ErrNotFound", i, err)
				}
			}
			if n, err := b.store.Cleanup(ctx, "hub"); err != nil || n != 0 {
				t.Errorf("Cleanup() = %d, %v; want nothing to clean", n, err)
			}
		})
	}
}

// TestCleanupAfterFailedDelete: the switch succeeds but deleting the
// generation that fell out of Keep fails. Publish succeeds and warns, and
// Cleanup removes the generation once it is old enough.
func TestCleanupAfterFailedDelete(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	b := setup(t, publish.Config{Logger: slog.New(logs)})
	ctx := context.Background()
	a := b.publish(t, "hub", []byte("a"))
	prev := b.publish(t, "hub", []byte("b"))

	// The next publish is one transaction; every delete after it fails.
	var batches atomic.Int32
	faulty := b.storeOn(t, faultyAccount(t, &faultTransport{before: func(r *http.Request) error {
		if r.Method == http.MethodDelete || isBatch(r) && batches.Add(1) > 1 {
			return errInjected
		}
		return nil
	}}), 4)
	cur, err := faulty.Publish(ctx, publish.Generation{Hub: "hub", Payload: []byte("c")})
	if err != nil {
		t.Fatalf("Publish() error = %v, want success despite the failed delete", err)
	}
	if len(logs.find("delete old generation failed")) != 1 {
		t.Errorf("logged %v, want one warning about the failed delete", logs.all())
	}
	if diff := cmp.Diff([]string{a.ID, prev.ID, cur.ID}, slices.Sorted(maps.Keys(b.generations(t, "hub")))); diff != "" {
		t.Errorf("generations before Cleanup (-want +got):\n%s", diff)
	}

	if n, err := b.store.Cleanup(ctx, "hub"); err != nil || n != 0 {
		t.Errorf("Cleanup() before OrphanAge = %d, %v; want 0, nil", n, err)
	}
	b.clock.Advance(publish.DefaultOrphanAge)
	if n, err := b.store.Cleanup(ctx, "hub"); err != nil || n != 1 {
		t.Errorf("Cleanup() = %d, %v; want 1, nil", n, err)
	}
	if diff := cmp.Diff([]string{prev.ID, cur.ID}, slices.Sorted(maps.Keys(b.generations(t, "hub")))); diff != "" {
		t.Errorf("generations after Cleanup (-want +got):\n%s", diff)
	}
}

func TestCorruption(t *testing.T) {
	t.Parallel()
	b := setupSmall(t, publish.Config{})
	raw := b.acct.Tables().NewClient(b.table)
	tests := []struct {
		name    string
		corrupt func(t *testing.T, hub, id string)
		wantGen error // from LoadGeneration; Load always gives ErrCorrupt
	}{
		{name: "FlippedByte", corrupt: func(t *testing.T, hub, id string) {
			editEntity(t, raw, hub, "g"+id+"-c0001", func(e map[string]any) {
				d, err := base64.StdEncoding.DecodeString(e["D01"].(string))
				if err != nil {
					t.Fatal(err)
				}
				d[1000] ^= 0x40
				e["D01"] = base64.StdEncoding.EncodeToString(d)
			})
		}, wantGen: publish.ErrCorrupt},
		{name: "MissingMiddleChunk", corrupt: func(t *testing.T, hub, id string) { deleteEntity(t, raw, hub, "g"+id+"-c0002") }, wantGen: publish.ErrCorrupt},
		{name: "MissingLastChunk", corrupt: func(t *testing.T, hub, id string) { deleteEntity(t, raw, hub, "g"+id+"-c0005") }, wantGen: publish.ErrCorrupt},
		{name: "MissingFirstChunk", corrupt: func(t *testing.T, hub, id string) { deleteEntity(t, raw, hub, "g"+id+"-c0000") }, wantGen: publish.ErrCorrupt},
		{name: "MissingProperty", corrupt: func(t *testing.T, hub, id string) {
			editEntity(t, raw, hub, "g"+id+"-c0000", func(e map[string]any) { delete(e, "D01"); delete(e, "D01@odata.type") })
		}, wantGen: publish.ErrCorrupt},
		{name: "TruncatedProperty", corrupt: func(t *testing.T, hub, id string) {
			editEntity(t, raw, hub, "g"+id+"-c0003", func(e map[string]any) {
				e["D02"] = base64.StdEncoding.EncodeToString([]byte("short"))
			})
		}, wantGen: publish.ErrCorrupt},
		{name: "ExtraChunk", corrupt: func(t *testing.T, hub, id string) {
			body, _ := json.Marshal(map[string]any{"PartitionKey": hub, "RowKey": "g" + id + "-c0006", "Parts": 1,
				"D00@odata.type": "Edm.Binary", "D00": base64.StdEncoding.EncodeToString([]byte("extra"))})
			if _, err := raw.AddEntity(context.Background(), body, nil); err != nil {
				t.Fatal(err)
			}
		}, wantGen: publish.ErrCorrupt},
		{name: "MissingManifest", corrupt: func(t *testing.T, hub, id string) { deleteEntity(t, raw, hub, "g"+id+"-m") }, wantGen: publish.ErrCorrupt},
		{name: "MissingGeneration", corrupt: func(t *testing.T, hub, id string) {
			for _, k := range []string{"c0000", "c0001", "c0002", "c0003", "c0004", "c0005", "m"} {
				deleteEntity(t, raw, hub, "g"+id+"-"+k)
			}
		}, wantGen: publish.ErrNotFound},
		{name: "UnreadablePointer", corrupt: func(t *testing.T, hub, _ string) {
			editEntity(t, raw, hub, "current", func(e map[string]any) { e["Chunks"] = "many" })
		}, wantGen: nil}, // the generation itself is intact
		{name: "PointerWithoutGeneration", corrupt: func(t *testing.T, hub, _ string) {
			editEntity(t, raw, hub, "current", func(e map[string]any) { delete(e, "Gen") })
		}, wantGen: nil},
		{name: "WrongHash", corrupt: func(t *testing.T, hub, id string) {
			editEntity(t, raw, hub, "g"+id+"-m", func(e map[string]any) { e["SHA256"] = strings.Repeat("0", 64) })
		}, wantGen: publish.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			hub := "corrupt" + tt.name
			g := b.publish(t, hub, randomBytes(1<<20, 50)) // chunks c0000-c0005 of three parts, D00-D02
			tt.corrupt(t, hub, g.ID)
			if _, err := b.store.Load(ctx, hub); !errors.Is(err, publish.ErrCorrupt) {
				t.Errorf("Load() error = %v, want ErrCorrupt", err)
			}
			if _, err := b.store.LoadGeneration(ctx, hub, g.ID); !errors.Is(err, tt.wantGen) {
				t.Errorf("LoadGeneration() error = %v, want %v", err, tt.wantGen)
			}
			// A damaged generation does not block the next one.
			next := b.publish(t, hub, []byte("repaired"))
			if got, err := b.store.Load(ctx, hub); err != nil || got.ID != next.ID {
				t.Errorf("Load() after a new Publish = %s, %v; want %s", got.ID, err, next.ID)
			}
		})
	}
}

// editEntity replaces an entity with what edit makes of its properties.
func editEntity(t *testing.T, c *aztables.Client, pk, rk string, edit func(map[string]any)) {
	t.Helper()
	ctx := context.Background()
	resp, err := c.GetEntity(ctx, pk, rk, nil)
	if err != nil {
		t.Fatalf("GetEntity(%s) error = %v", rk, err)
	}
	var e map[string]any
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		t.Fatal(err)
	}
	for k := range e {
		if strings.HasPrefix(k, "odata.") || strings.HasPrefix(k, "Timestamp") {
			delete(e, k)
		}
	}
	edit(e)
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	etag := azcore.ETagAny
	if _, err := c.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace}); err != nil {
		t.Fatalf("UpdateEntity(%s) error = %v", rk, err)
	}
}

func deleteEntity(t *testing.T, c *aztables.Client, pk, rk string) {
	t.Helper()
	if _, err := c.DeleteEntity(context.Background(), pk, rk, nil); err != nil {
		t.Fatalf("DeleteEntity(%s) error = %v", rk, err)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	b := setupSmall(t, publish.Config{})
	ctx := context.Background()
	b.publish(t, "gone", randomBytes(256<<10, 60))
	b.publish(t, "gone", randomBytes(256<<10, 61))
	stays := b.publish(t, "stays", []byte("still here"))

	for i := range 2 { // deleting twice is fine
		if err := b.store.Delete(ctx, "gone"); err != nil {
			t.Fatalf("Delete() #%d error = %v", i+1, err)
		}
	}
	if _, err := b.store.Current(ctx, "gone"); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("Current(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := b.store.Load(ctx, "gone"); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("Load(deleted) error = %v, want ErrNotFound", err)
	}
	if gens := b.generations(t, "gone"); len(gens) != 0 {
		t.Errorf("generations left after Delete: %v", gens)
	}
	if got, err := b.store.Load(ctx, "stays"); err != nil || got.ID != stays.ID {
		t.Errorf("Load(other hub) = %s, %v; want %s", got.ID, err, stays.ID)
	}
	if err := b.store.Delete(ctx, "never"); err != nil {
		t.Errorf("Delete(never published) error = %v, want nil", err)
	}
}

// logRecorder is a slog.Handler keeping every record's message.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// find returns the messages containing s.
func (r *logRecorder) find(s string) []string {
	var out []string
	for _, m := range r.all() {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
}

var _ slog.Handler = (*logRecorder)(nil)
