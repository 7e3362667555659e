package publish

import (
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
)

// cleanupTimeout bounds the clean-up done after a failed publish, which
// runs even when the publish's own context was cancelled.
const cleanupTimeout = 30 * time.Second

// feedSize is how much payload is hashed and compressed between checks of
// the context.
const feedSize = 1 << 20

// Publish stores g.Payload (or g.Parts) and g.Meta as a new generation of g.Hub and
// makes it current, returning g with ID and PublishedAt set (their values
// in g are ignored). Readers see the previous generation until the switch
// and the new one after it.
//
// It returns ErrInvalid for a bad hub id or a payload or meta over the
// limits, and ErrStale when another publisher switched the pointer first;
// in both cases, and when writing fails, nothing this call wrote is
// served and the previous generation stays current. Chunks it could not
// delete after a failure are removed by Cleanup.
func (s *Store) Publish(ctx context.Context, g Generation) (Generation, error) {
	if err := checkHub(g.Hub); err != nil {
		return Generation{}, fmt.Errorf("publish: %w", err)
	}
	parts, size := g.parts()
	if size > MaxPayload {
		return Generation{}, fmt.Errorf("publish %s: payload of %d bytes exceeds %d: %w", g.Hub, size, MaxPayload, ErrInvalid)
	}
	meta, err := encodeMeta(g.Meta)
	if err != nil {
		return Generation{}, fmt.Errorf("publish %s: %w", g.Hub, err)
	}
	old, err := s.readPointer(ctx, g.Hub)
	switch {
	case errors.Is(err, ErrNotFound):
		old = nil
	case errors.Is(err, ErrCorrupt) && old != nil:
		// Replace it (on its ETag); what it referenced becomes orphaned
		// and Cleanup removes it.
		s.log.WarnContext(ctx, "replacing an unreadable pointer", "hub", g.Hub, "error", err)
	case err != nil:
		return Generation{}, fmt.Errorf("publish %s: %w", g.Hub, err)
	}

	at := s.now().UTC().Truncate(100 * time.Nanosecond)
	id := newID(at)
	m := &pointerEntity{
		PartitionKey: g.Hub, RowKey: manifestKey(id), Codec: codecDeflate,
		Size: size, PublishedAt: at, Meta: meta,
	}
	batches, err := s.writeGeneration(ctx, id, parts, m)
	if err != nil {
		s.discard(ctx, g.Hub, id)
		return Generation{}, fmt.Errorf("publish %s: write generation %s: %w", g.Hub, id, err)
	}
	dropped, err := s.swap(ctx, old, id, m)
	if err != nil {
		return Generation{}, fmt.Errorf("publish %s: switch to generation %s: %w", g.Hub, id, err)
	}
	s.log.DebugContext(ctx, "generation published", "hub", g.Hub, "generation", id,
		"size", m.Size, "stored", m.Stored, "chunks", m.Chunks, "transactions", batches)
	for _, d := range dropped {
		if err := s.deleteGeneration(ctx, g.Hub, d); err != nil {
			s.log.WarnContext(ctx, "delete old generation failed; Cleanup will retry",
				"hub", g.Hub, "generation", d, "error", err)
		}
	}
	g.ID, g.PublishedAt = id, at
	return g, nil
}

// writeGeneration compresses the payload's parts into chunk entities and
// writes them, then the manifest m (which it completes), with up to s.parallel
// transactions in flight. It returns the number of transactions.
func (s *Store) writeGeneration(ctx context.Context, id string, payload [][]byte, m *pointerEntity) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	fail := func(err error) {
		once.Do(func() {
			firstErr = err
			cancel(err)
		})
	}
	jobs := make(chan []aztables.TransactionAction)
	for range s.parallel {
		wg.Go(func() {
			for batch := range jobs {
				if ctx.Err() != nil {
					continue // drain after a failure
				}
				if _, err := s.client.SubmitTransaction(ctx, batch, nil); err != nil {
					fail(fmt.Errorf("transaction of %d entities: %w", len(batch), azstorage.Wrap(err)))
				}
			}
		})
	}

	c := &chunker{ctx: ctx, hub: m.PartitionKey, id: id, jobs: jobs, entityData: s.entityData, batchJSON: s.batchJSON,
		buf: make([]byte, 0, s.entityData)}
	err := s.compress(ctx, payload, c, m)
	close(jobs)
	wg.Wait()
	if err != nil {
		fail(err)
	}
	if firstErr != nil {
		return c.batches, firstErr
	}
	return c.batches, nil
}

// compress feeds the payload's parts through the hash and the compressor
// into c, then completes m and adds it as the generation's last entity.
func (s *Store) compress(ctx context.Context, payload [][]byte, c *chunker, m *pointerEntity) error {
	zw, _ := s.writers.Get().(*flate.Writer)
	defer s.writers.Put(zw)
	zw.Reset(c)
	h := sha256.New()
	for _, part := range payload {
		for off := 0; off < len(part); off += feedSize {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			seg := part[off:min(off+feedSize, len(part))]
			h.Write(seg)
			if _, err := zw.Write(seg); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := c.flushEntity(); err != nil {
		return err
	}
	m.Chunks, m.Stored, m.SHA256 = int32(c.entities), c.stored, hex.EncodeToString(h.Sum(nil)) // #nosec G115 -- a generation is capped far below 2^31 entities
	if err := c.add(m.marshal()); err != nil {
		return err
	}
	return c.flushBatch()
}

// chunker is the compressor's io.Writer: it cuts the compressed stream
// into chunk entities and groups those into transactions sent to jobs.
type chunker struct {
	ctx        context.Context
	hub, id    string
	jobs       chan<- []aztables.TransactionAction
	entityData int    // compressed bytes per chunk entity
	batchJSON  int    // JSON bytes per transaction
	buf        []byte // the current entity's bytes, up to entityData
	entities   int    // chunk entities made
	stored     int64  // compressed bytes
	batch      []aztables.TransactionAction
	batchBytes int
	batches    int
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(c.entityData-len(c.buf), len(p))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == c.entityData {
			if err := c.flushEntity(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flushEntity turns the buffered bytes into a chunk entity.
func (c *chunker) flushEntity() error {
	if len(c.buf) == 0 {
		return nil
	}
	if c.entities == maxChunks {
		return fmt.Errorf("compressed payload needs more than %d chunk entities: %w", maxChunks, ErrInvalid)
	}
	size := 256 + base64.StdEncoding.EncodedLen(len(c.buf)) + (len(c.buf)/partSize+1)*(partJSON-partSize/3*4)
	body := appendChunk(make([]byte, 0, size), c.hub, chunkKey(c.id, c.entities), c.buf)
	c.entities++
	c.stored += int64(len(c.buf))
	c.buf = c.buf[:0]
	return c.add(body)
}

// add appends an entity to the current transaction, sending that first if
// the entity would not fit.
func (c *chunker) add(body []byte) error {
	if len(c.batch) == maxBatchSize || c.batchBytes+len(body)+batchOverhead > c.batchJSON {
		if err := c.flushBatch(); err != nil {
			return err
		}
	}
	// Upsert, so that the SDK's retry of a transaction that did land
	// succeeds. Generation ids are unique (time plus 32 random bits), and
	// a collision would still fail the hash check on load.
	c.batch = append(c.batch, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: body})
	c.batchBytes += len(body) + batchOverhead
	return nil
}

// flushBatch hands the current transaction to a writer goroutine.
func (c *chunker) flushBatch() error {
	if len(c.batch) == 0 {
		return nil
	}
	select {
	case c.jobs <- c.batch:
	case <-c.ctx.Done():
		return context.Cause(c.ctx)
	}
	c.batches++
	c.batch, c.batchBytes = nil, 0
	return nil
}

// swap points the hub at generation id, whose manifest is m, provided the
// pointer is still old (nil: there was none). It returns the generations
// that fell out of the Keep window. On ErrStale and on failures that
// certainly left the pointer elsewhere, it discards generation id.
func (s *Store) swap(ctx context.Context, old *pointerEntity, id string, m *pointerEntity) ([]string, error) {
	var chain []string
	if old != nil && checkGenID(old.Gen) == nil {
		chain = append([]string{old.Gen}, old.prev()...)
	}
	keep := min(s.keep, len(chain))
	p := *m
	p.RowKey, p.Gen, p.Prev = pointerRow, id, strings.Join(chain[:keep], ",")
	body := p.marshal()

	var err error
	if old == nil {
		_, err = s.client.AddEntity(ctx, body, nil)
	} else {
		etag := azcore.ETag(old.ETag)
		_, err = s.client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	}
	if err == nil {
		return chain[keep:], nil
	}
	err = azstorage.Wrap(err)

	// The outcome can be unknown: the service may have applied the write
	// and the response been lost, and a retry then fail on the ETag our
	// own write changed. The pointer tells.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	cur, rerr := s.readPointer(rctx, m.PartitionKey)
	switch {
	case rerr == nil && cur.Gen == id:
		return chain[keep:], nil
	case rerr != nil && !errors.Is(rerr, ErrNotFound):
		// Unknown: leave the chunks; Cleanup removes them if unreferenced.
		return nil, fmt.Errorf("%w (and reading the pointer back: %w)", err, rerr)
	}
	s.discard(ctx, m.PartitionKey, id)
	if errors.Is(err, azstorage.ErrPrecondition) || errors.Is(err, azstorage.ErrConflict) || errors.Is(err, azstorage.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrStale, err)
	}
	return nil, err
}

// discard deletes the entities of a generation that will never be served,
// even if ctx is already cancelled. Failures are logged, not returned: the
// caller is already returning the error that matters, and Cleanup sweeps
// what is left.
func (s *Store) discard(ctx context.Context, hub, id string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := s.deleteGeneration(dctx, hub, id); err != nil {
		s.log.WarnContext(ctx, "discard unpublished generation failed; Cleanup will remove it",
			"hub", hub, "generation", id, "error", err)
	}
}
