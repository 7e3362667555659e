package publish_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/publish"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t, publish.Config{})
	// Payloads are compared with bytes.Equal: cmp's reflective walk takes
	// minutes over 30 MB.
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(publish.Generation{}, "Payload")}
	tests := []struct {
		name    string
		payload []byte
		meta    map[string]string
	}{
		{name: "Small", payload: []byte(`{"title":"Jazz at the Colonial"}` + "\n"), meta: map[string]string{"events": "1", "feeds": "1"}},
		{name: "Empty", payload: []byte{}},
		{name: "Nil", payload: nil, meta: map[string]string{}},
		{name: "Incompressible5MB", payload: randomBytes(5<<20, 1)}, // several entities and transactions
		{name: "JSONLines30MB", payload: jsonLines(100_000, 1), meta: map[string]string{"events": "100000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			hub := "rt" + tt.name
			pub, err := b.store.Publish(ctx, publish.Generation{Hub: hub, Meta: tt.meta, Payload: tt.payload})
			if err != nil {
				t.Fatalf("Publish() error = %v", err)
			}
			want := publish.Generation{Hub: hub, ID: pub.ID, PublishedAt: pub.PublishedAt, Meta: tt.meta, Payload: tt.payload}
			if pub.ID == "" || pub.PublishedAt.IsZero() || pub.PublishedAt.Location() != time.UTC {
				t.Errorf("Publish() = id %q at %v, want an id and a UTC time", pub.ID, pub.PublishedAt)
			}

			got, err := b.store.Load(ctx, hub)
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
			if !bytes.Equal(got.Payload, tt.payload) {
				t.Errorf("Load() payload differs from the published one")
			}
			if got.Payload == nil {
				t.Errorf("Load().Payload = nil, want a non-nil slice")
			}
			got, err = b.store.LoadGeneration(ctx, hub, pub.ID)
			if err != nil {
				t.Fatalf("LoadGeneration() error = %v", err)
			}
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("LoadGeneration() mismatch (-want +got):\n%s", diff)
			}
			if !bytes.Equal(got.Payload, tt.payload) {
				t.Errorf("LoadGeneration() payload differs from the published one")
			}

			p, err := b.store.Current(ctx, hub)
			if err != nil {
				t.Fatalf("Current() error = %v", err)
			}
			wantP := publish.Pointer{Hub: hub, ID: pub.ID, PublishedAt: pub.PublishedAt, Meta: tt.meta,
				Size: int64(len(tt.payload)), SHA256: sum(tt.payload)}
			if diff := cmp.Diff(wantP, p, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(publish.Pointer{}, "Stored", "Chunks", "ETag")); diff != "" {
				t.Errorf("Current() mismatch (-want +got):\n%s", diff)
			}
			if wantChunks := (p.Stored + 11<<16 - 1) / (11 << 16); int64(p.Chunks) != wantChunks || p.ETag == "" {
				t.Errorf("Current() = %d chunks for %d stored bytes, ETag %q; want %d chunks and an ETag", p.Chunks, p.Stored, p.ETag, wantChunks)
			}
			t.Logf("%d bytes stored as %d in %d chunk entities", p.Size, p.Stored, p.Chunks)
		})
	}
}

// TestPublishParts checks that a payload published in parts loads as
// their concatenation, with the size and digest of the whole.
func TestPublishParts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSmall(t, publish.Config{})
	whole := append(jsonLines(2000, 3), randomBytes(300<<10, 4)...)
	parts := [][]byte{whole[:1], {}, whole[1 : 400<<10], whole[400<<10:]}
	if _, err := b.store.Publish(ctx, publish.Generation{Hub: "parts", Parts: parts}); err != nil {
		t.Fatalf("Publish(parts) = %v", err)
	}
	got, err := b.store.Load(ctx, "parts")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Payload, whole) {
		t.Errorf("Load() = %d bytes, want the %d bytes of the parts joined", len(got.Payload), len(whole))
	}
	p, err := b.store.Current(ctx, "parts")
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != int64(len(whole)) || p.SHA256 != sum(whole) || p.Chunks < 2 {
		t.Errorf("Current() = size %d, sha %s, %d chunks; want %d, %s, several", p.Size, p.SHA256, p.Chunks, len(whole), sum(whole))
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	payload := jsonLines(2000, 2)
	tests := []struct {
		name  string
		level int
	}{
		{"Zero", 0},
		{"HuffmanOnly", flate.HuffmanOnly},
		{"BestSpeed", flate.BestSpeed},
		{"Default", flate.DefaultCompression},
		{"Best", flate.BestCompression},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, publish.Config{Level: tt.level})
			b.publish(t, "levels", payload)
			got, err := b.store.Load(context.Background(), "levels")
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if sum(got.Payload) != sum(payload) {
				t.Errorf("Load() payload differs from what was published")
			}
		})
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	t.Parallel()
	acct := storagetest.Account(t)
	tests := []struct {
		name string
		cfg  publish.Config
	}{
		{"LevelTooHigh", publish.Config{Level: 10}},
		{"LevelTooLow", publish.Config{Level: -3}},
		{"NegativeParallel", publish.Config{Parallel: -1}},
		{"KeepTooMany", publish.Config{Keep: publish.MaxKeep + 1}},
		{"NegativeOrphanAge", publish.Config{OrphanAge: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Table = storagetest.Table(t, acct, "bad")
			if _, err := publish.Open(context.Background(), acct, tt.cfg); !errors.Is(err, publish.ErrInvalid) {
				t.Errorf("Open(%+v) error = %v, want ErrInvalid", tt.cfg, err)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, publish.Config{})
	ctx := context.Background()
	g := b.publish(t, "other", []byte("x"))
	tests := []struct {
		name string
		call func() error
	}{
		{"Current", func() error { _, err := b.store.Current(ctx, "never"); return err }},
		{"Load", func() error { _, err := b.store.Load(ctx, "never"); return err }},
		{"LoadGenerationOfOtherHub", func() error { _, err := b.store.LoadGeneration(ctx, "never", g.ID); return err }},
		{"LoadUnknownGeneration", func() error {
			_, err := b.store.LoadGeneration(ctx, "other", "20000101T0000000000000Z00000000")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.call(); !errors.Is(err, publish.ErrNotFound) {
				t.Errorf("%s() error = %v, want ErrNotFound", tt.name, err)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	b := setup(t, publish.Config{})
	ctx := context.Background()
	good := b.publish(t, "good", []byte("x"))
	type test struct {
		name string
		call func() error
	}
	var tests []test
	ops := []struct {
		name string
		call func(hub string) error
	}{
		{"Publish", func(h string) error {
			_, err := b.store.Publish(ctx, publish.Generation{Hub: h, Payload: []byte("x")})
			return err
		}},
		{"Current", func(h string) error { _, err := b.store.Current(ctx, h); return err }},
		{"Load", func(h string) error { _, err := b.store.Load(ctx, h); return err }},
		{"LoadGeneration", func(h string) error { _, err := b.store.LoadGeneration(ctx, h, good.ID); return err }},
		{"Cleanup", func(h string) error { _, err := b.store.Cleanup(ctx, h); return err }},
		{"Delete", func(h string) error { return b.store.Delete(ctx, h) }},
	}
	badHubs := []struct{ name, id string }{
		{"Empty", ""}, {"Space", "has space"}, {"Quote", "quote'"}, {"Injection", "x' or PartitionKey ne 'y"},
		{"Slash", "a/b"}, {"Unicode", "ünïcode"}, {"TooLong", strings.Repeat("a", 65)}, {"Dot", "g.1"},
	}
	for _, op := range ops {
		for _, h := range badHubs {
			tests = append(tests, test{op.name + "Hub" + h.name, func() error { return op.call(h.id) }})
		}
	}
	badIDs := []struct{ name, id string }{
		{"Empty", ""}, {"Pointer", "current"}, {"Short", good.ID[:len(good.ID)-1]}, {"Long", good.ID + "0"},
		{"UpperHex", good.ID[:len(good.ID)-8] + "ABCDEF01"}, {"Quote", good.ID[:30] + "'"}, {"Month13", "20261301T1900000000000Z3fa9c2e1"},
	}
	for _, id := range badIDs {
		tests = append(tests, test{"LoadGenerationID" + id.name, func() error {
			_, err := b.store.LoadGeneration(ctx, "good", id.id)
			return err
		}})
	}
	tests = append(tests, test{"PublishHugeMeta", func() error {
		_, err := b.store.Publish(ctx, publish.Generation{Hub: "good", Meta: map[string]string{"x": strings.Repeat("m", publish.MaxMetaBytes)}})
		return err
	}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.call(); !errors.Is(err, publish.ErrInvalid) {
				t.Errorf("error = %v, want ErrInvalid", err)
			}
		})
	}
	// Nothing of the above reached the table.
	t.Cleanup(func() {
		if got, err := b.store.Load(ctx, "good"); err != nil || got.ID != good.ID {
			t.Errorf("Load(good) = %v, %v; want generation %s", got.ID, err, good.ID)
		}
	})
}
