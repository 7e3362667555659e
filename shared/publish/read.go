package publish

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
)

const (
	// loadAttempts bounds how often Load follows a pointer that moved
	// while it was loading the generation the pointer named before.
	loadAttempts = 3
	// maxHint caps the buffer presized from the pointer's Stored.
	maxHint = 64 << 20
	// maxRatio is above DEFLATE's largest expansion (about 1032:1), so a
	// manifest claiming more is corrupt and not worth allocating for.
	maxRatio = 1100
)

// Load returns the hub's current generation, verified against its SHA-256.
// It returns ErrNotFound when the hub has no generation, ErrCorrupt when
// the generation is incomplete or does not match its hash, and ErrInvalid
// for a bad hub id. If the generation is deleted while it is being read
// (two publishes in quick succession), Load follows the new pointer.
func (s *Store) Load(ctx context.Context, hub string) (Generation, error) {
	if err := checkHub(hub); err != nil {
		return Generation{}, fmt.Errorf("load: %w", err)
	}
	var lastID string
	var lastErr error
	for range loadAttempts {
		p, err := s.readPointer(ctx, hub)
		if err != nil {
			return Generation{}, fmt.Errorf("load %s: %w", hub, err)
		}
		if lastErr != nil && p.Gen == lastID {
			break // the pointer did not move: the failure is real
		}
		g, m, err := s.loadGeneration(ctx, hub, p.Gen, p.Stored)
		if err == nil && m.SHA256 != p.SHA256 {
			err = fmt.Errorf("manifest hash %s differs from pointer hash %s: %w", m.SHA256, p.SHA256, ErrCorrupt)
		}
		if err == nil {
			return g, nil
		}
		if errors.Is(err, ErrNotFound) {
			// The pointer names it, so it is not merely absent.
			err = fmt.Errorf("no entities: %w", ErrCorrupt)
		}
		lastID, lastErr = p.Gen, fmt.Errorf("load %s generation %s: %w", hub, p.Gen, err)
		if !errors.Is(err, ErrCorrupt) {
			break
		}
	}
	return Generation{}, lastErr
}

// LoadGeneration returns one generation of the hub, current or kept,
// verified. It returns ErrNotFound when the generation does not exist (it
// was never published, or was cleaned up), ErrCorrupt when it is
// incomplete or does not match its hash, and ErrInvalid for a bad hub or
// generation id.
func (s *Store) LoadGeneration(ctx context.Context, hub, id string) (Generation, error) {
	if err := checkHub(hub); err != nil {
		return Generation{}, fmt.Errorf("load generation: %w", err)
	}
	if err := checkGenID(id); err != nil {
		return Generation{}, fmt.Errorf("load generation of %s: %w", hub, err)
	}
	g, _, err := s.loadGeneration(ctx, hub, id, 0)
	if err != nil {
		return Generation{}, fmt.Errorf("load %s generation %s: %w", hub, id, err)
	}
	return g, nil
}

// loadGeneration reads a generation's entities with one ranged query,
// reassembles the compressed bytes in order (storedHint presizes them),
// inflates and verifies them. hub and id are validated.
func (s *Store) loadGeneration(ctx context.Context, hub, id string, storedHint int64) (Generation, *pointerEntity, error) {
	filter := rangeFilter(hub, id)
	pager := s.client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	z := make([]byte, 0, max(0, min(storedHint, maxHint)))
	var m *pointerEntity
	next, seen := 0, false
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return Generation{}, nil, fmt.Errorf("query: %w", azstorage.Wrap(err))
		}
		for _, raw := range page.Entities {
			seen = true
			var props map[string]json.RawMessage
			var rk string
			if err := json.Unmarshal(raw, &props); err != nil {
				return Generation{}, nil, fmt.Errorf("decode entity: %w: %w", ErrCorrupt, err)
			}
			if err := json.Unmarshal(props["RowKey"], &rk); err != nil {
				return Generation{}, nil, fmt.Errorf("decode row key: %w: %w", ErrCorrupt, err)
			}
			switch {
			case m != nil:
				return Generation{}, nil, fmt.Errorf("entity %s after the manifest: %w", rk, ErrCorrupt)
			case rk == manifestKey(id):
				if m, err = decodePointer(raw); err != nil {
					return Generation{}, nil, err
				}
			case rk == chunkKey(id, next):
				if z, err = decodeChunk(props, z); err != nil {
					return Generation{}, nil, fmt.Errorf("chunk %s: %w", rk, err)
				}
				next++
			default:
				return Generation{}, nil, fmt.Errorf("chunk %s missing (found %s): %w", chunkKey(id, next), rk, ErrCorrupt)
			}
		}
	}
	switch {
	case !seen:
		return Generation{}, nil, ErrNotFound
	case m == nil:
		return Generation{}, nil, fmt.Errorf("manifest missing after %d chunks: %w", next, ErrCorrupt)
	case m.Codec != codecDeflate:
		return Generation{}, nil, fmt.Errorf("unknown codec %q: %w", m.Codec, ErrCorrupt)
	case int(m.Chunks) != next:
		return Generation{}, nil, fmt.Errorf("%d of %d chunks present: %w", next, m.Chunks, ErrCorrupt)
	case int64(len(z)) != m.Stored:
		return Generation{}, nil, fmt.Errorf("%d of %d compressed bytes present: %w", len(z), m.Stored, ErrCorrupt)
	case m.Size < 0 || m.Size > MaxPayload || m.Size > m.Stored*maxRatio:
		return Generation{}, nil, fmt.Errorf("payload size %d out of range: %w", m.Size, ErrCorrupt)
	}
	payload, err := inflate(z, m.Size)
	if err != nil {
		return Generation{}, nil, err
	}
	sum := sha256.Sum256(payload)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 {
		return Generation{}, nil, fmt.Errorf("payload hash %s, manifest says %s: %w", got, m.SHA256, ErrCorrupt)
	}
	meta, err := decodeMeta(m.Meta)
	if err != nil {
		return Generation{}, nil, err
	}
	return Generation{Hub: hub, ID: id, PublishedAt: m.PublishedAt.UTC(), Meta: meta, Payload: payload}, m, nil
}

// inflate decompresses z, which must hold exactly size bytes.
func inflate(z []byte, size int64) ([]byte, error) {
	fr := flate.NewReader(bytes.NewReader(z))
	defer func() { _ = fr.Close() }() // a reader of bytes in memory: nothing to report
	out := make([]byte, size)
	if _, err := io.ReadFull(fr, out); err != nil {
		return nil, fmt.Errorf("inflate: %w: %w", ErrCorrupt, err)
	}
	var extra [1]byte
	if n, err := fr.Read(extra[:]); n != 0 || !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("inflate: %w: data beyond the stated size", ErrCorrupt)
	}
	return out, nil
}
