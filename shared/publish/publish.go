// Package publish stores a hub's merged calendar, "a generation", in Azure
// Tables and loads it back, atomically and cheaply.
//
// The payload is opaque: the aggregation engine chooses its encoding (JSON
// lines of events, typically tens of MB for a big hub). Publish compresses
// it with DEFLATE, cuts the compressed bytes into Edm.Binary properties of
// at most 64 KiB, packs as many of those as fit into one entity (Azure
// limits an entity to 1 MiB, counted here after the 4/3 base64 inflation of
// the JSON payload), and writes the entities with batch transactions of at
// most 100 entities and about 3 MiB, several at once. A 30 MB hub becomes a
// handful of entities and transactions instead of 100,000 rows.
//
// # Layout
//
// Everything of a hub lives in the partition named by the hub id (see
// [hub.ValidID]), so one hub's writes can be transactions and one hub's
// load is one ranged query:
//
//   - "g<gen>-c0000", "g<gen>-c0001" ...: the chunk entities of generation
//     <gen>, each with Parts (the number of binary properties) and the
//     binary properties D00, D01 ... holding consecutive compressed bytes.
//   - "g<gen>-m": the generation's manifest: Codec, Chunks (the number of
//     chunk entities), Size (payload bytes), Stored (compressed bytes),
//     SHA256 (hex digest of the payload), PublishedAt and Meta (JSON).
//   - "current": the pointer, a copy of the current generation's manifest
//     plus Gen (its id) and Prev (the previous generations still kept, newest
//     first, comma-separated).
//
// Generation ids are "<yyyymmdd>T<hhmmss><7 digits of 100 ns>Z<8 hex
// digits>", in UTC, so they sort by publication time, have a fixed width
// (no id is a prefix of another) and tell Cleanup how old an orphan is.
//
// # Atomicity
//
// Publish reads the pointer and its ETag, writes every entity of the new
// generation, then replaces the pointer conditionally on that ETag. A reader
// follows the pointer, so it sees the previous complete generation or the
// new one, never a mix. When the switch's response is lost, Publish reads
// the pointer back to learn whether its generation is the one served. A publisher that loses a race gets [ErrStale] and
// deletes its own chunks; a publish that fails or is interrupted leaves
// the previous generation served, and its orphaned chunks are removed by
// [Store.Cleanup] once they are older than Config.OrphanAge. After the
// switch, generations beyond Config.Keep previous ones are deleted; the kept
// ones let a reader that read the old pointer finish loading, and [Store.Load]
// retries with the new pointer if its generation vanished under it.
//
// Filters are built only from validated hub ids, validated generation ids
// and row-key bounds computed here; invalid input returns an error wrapping
// [ErrInvalid].
package publish

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/hub"
)

// Defaults applied by Open to zero Config fields.
//
// DefaultLevel is flate.DefaultCompression (6): against Azurite, a
// 100,000-occurrence hub (34 MB of JSON lines) publishes in about 0.46 s as
// 3.9 MB and loads in 0.28 s, where BestSpeed publishes in 0.23 s but
// stores 5.4 MB and loads in 0.38 s. A hub is loaded by every web instance
// for each generation published, and bytes cost on every load, so the
// smaller output wins; a CPU-starved worker can set Level to BestSpeed.
const (
	DefaultTable     = "elmcitycalendars"
	DefaultLevel     = flate.DefaultCompression
	DefaultKeep      = 1
	DefaultParallel  = 4
	DefaultOrphanAge = time.Hour
)

// Limits on what Publish accepts; larger input returns an error wrapping
// ErrInvalid.
const (
	// MaxPayload is the largest payload, uncompressed.
	MaxPayload = 1 << 30
	// MaxMetaBytes is the largest Meta, encoded as JSON. It keeps the
	// pointer entity, which carries Meta, small and cheap to poll.
	MaxMetaBytes = 16 << 10
	// MaxKeep is the largest Config.Keep; the pointer lists the kept ids.
	MaxKeep = 100
)

// Sentinel errors of the package. Storage failures that are none of these
// wrap the azstorage sentinels (azstorage.ErrThrottled ...).
var (
	// ErrNotFound means the hub has no published generation, or the
	// requested generation does not exist (any more).
	ErrNotFound = errors.New("publish: not found")
	// ErrStale means another publisher switched the hub's pointer (or
	// Delete removed it) after this Publish read it; the other generation
	// is served and this one was discarded.
	ErrStale = errors.New("publish: another generation was published first")
	// ErrCorrupt means a stored generation is incomplete or does not match
	// its manifest or hash. A truncated calendar is never returned.
	ErrCorrupt = errors.New("publish: corrupt generation")
	// ErrInvalid means a bad argument: a hub or generation id that does not
	// validate, a payload or meta that is too large, or a bad Config.
	ErrInvalid = errors.New("publish: invalid argument")
)

// Generation is one published calendar of a hub.
type Generation struct {
	// Hub is the hub id; it must pass hub.ValidID.
	Hub string
	// ID is set by Publish; ids sort by publication time.
	ID string
	// PublishedAt is set by Publish from Config.Now, in UTC, truncated to
	// the 100 ns resolution of Edm.DateTime.
	PublishedAt time.Time
	// Meta is a small summary of the run (counts, feeds, duration), at most
	// MaxMetaBytes as JSON. An empty map loads as nil.
	Meta map[string]string
	// Payload is the encoded calendar, opaque to this package. An empty
	// payload loads as an empty, non-nil slice.
	Payload []byte
	// Parts, when Payload is nil, is the payload to publish in pieces,
	// written in order (a caller that holds it so need not join it first).
	// A loaded generation has Payload.
	Parts [][]byte
}

// parts returns g's payload as pieces and its length.
func (g *Generation) parts() ([][]byte, int64) {
	if g.Payload != nil || g.Parts == nil {
		return [][]byte{g.Payload}, int64(len(g.Payload))
	}
	var n int64
	for _, p := range g.Parts {
		n += int64(len(p))
	}
	return g.Parts, n
}

// Pointer describes a hub's current generation without loading it: one
// small entity, cheap enough for readers to poll to invalidate caches.
type Pointer struct {
	Hub         string
	ID          string
	PublishedAt time.Time
	Meta        map[string]string
	// Size is the payload length in bytes.
	Size int64
	// Stored is the compressed length in bytes.
	Stored int64
	// Chunks is the number of chunk entities.
	Chunks int
	// SHA256 is the hex SHA-256 digest of the payload.
	SHA256 string
	// Previous lists the earlier generations still kept, newest first.
	Previous []string
	// ETag changes whenever the pointer does.
	ETag string
}

// Config tunes a Store. Zero fields take the defaults above.
type Config struct {
	// Table is the table holding every hub's generations.
	Table string
	// Level is the compress/flate level: flate.HuffmanOnly, 1 (BestSpeed)
	// to 9 (BestCompression), or flate.DefaultCompression; 0 selects
	// DefaultLevel. Compression cannot be switched off.
	Level int
	// Keep is the number of previous generations kept after a switch so
	// that readers of the old pointer can finish; 0 selects DefaultKeep,
	// a negative value keeps none, at most MaxKeep.
	Keep int
	// Parallel is the number of batch transactions in flight while
	// publishing.
	Parallel int
	// OrphanAge is how old an unreferenced generation must be before
	// Cleanup deletes it. It must exceed the longest publish, or Cleanup
	// could delete the chunks of a publish in progress.
	OrphanAge time.Duration
	// Logger receives warnings about clean-ups that failed after a
	// publish succeeded (they are retried by Cleanup); nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store publishes and loads generations. It is safe for concurrent use.
type Store struct {
	client    *aztables.Client
	level     int
	keep      int
	parallel  int
	orphanAge time.Duration
	log       *slog.Logger
	now       func() time.Time
	writers   sync.Pool // *flate.Writer at level

	// The storage layout: partsPerEntity*partSize and maxBatchJSON, except
	// in tests that need many entities from small payloads.
	entityData int
	batchJSON  int
}

// Open validates cfg, creates the table if it is missing and returns the
// Store. A bad Config returns an error wrapping ErrInvalid.
func Open(ctx context.Context, acct *azstorage.Account, cfg Config) (*Store, error) {
	if acct == nil {
		panic("publish: Open with a nil account")
	}
	s := &Store{
		level:     cfg.Level,
		keep:      cfg.Keep,
		parallel:  cfg.Parallel,
		orphanAge: cfg.OrphanAge,
		log:       cfg.Logger,
		now:       cfg.Now,

		entityData: partsPerEntity * partSize,
		batchJSON:  maxBatchJSON,
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if s.level == 0 {
		s.level = DefaultLevel
	}
	switch {
	case s.keep == 0:
		s.keep = DefaultKeep
	case s.keep < 0:
		s.keep = 0
	}
	if s.parallel == 0 {
		s.parallel = DefaultParallel
	}
	if s.orphanAge == 0 {
		s.orphanAge = DefaultOrphanAge
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var errs []error
	if _, err := flate.NewWriter(nil, s.level); err != nil {
		errs = append(errs, fmt.Errorf("level %d: %w", cfg.Level, ErrInvalid))
	}
	if s.parallel < 0 {
		errs = append(errs, fmt.Errorf("parallel %d: %w", cfg.Parallel, ErrInvalid))
	}
	if s.keep > MaxKeep {
		errs = append(errs, fmt.Errorf("keep %d over %d: %w", cfg.Keep, MaxKeep, ErrInvalid))
	}
	if s.orphanAge < 0 {
		errs = append(errs, fmt.Errorf("orphan age %s: %w", cfg.OrphanAge, ErrInvalid))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("open publish store: %w", errors.Join(errs...))
	}
	if _, err := acct.Tables().CreateTable(ctx, cfg.Table, nil); err != nil && !errors.Is(azstorage.Wrap(err), azstorage.ErrConflict) {
		return nil, fmt.Errorf("create table %s: %w", cfg.Table, azstorage.Wrap(err))
	}
	s.client = acct.Tables().NewClient(cfg.Table)
	s.writers.New = func() any {
		w, _ := flate.NewWriter(nil, s.level) // level checked above
		return w
	}
	return s, nil
}

// checkHub guards every hub id before it reaches a key or a filter.
func checkHub(id string) error {
	if !hub.ValidID(id) {
		return fmt.Errorf("hub id %q: %w", id, ErrInvalid)
	}
	return nil
}

// Current returns the hub's pointer: which generation is served, with its
// size, hash and meta, without loading it. It returns ErrNotFound when the
// hub has never been published (or was deleted) and ErrInvalid for a bad
// hub id.
func (s *Store) Current(ctx context.Context, hub string) (Pointer, error) {
	if err := checkHub(hub); err != nil {
		return Pointer{}, fmt.Errorf("current: %w", err)
	}
	p, err := s.readPointer(ctx, hub)
	if err != nil {
		return Pointer{}, fmt.Errorf("current %s: %w", hub, err)
	}
	return p.pointer(hub)
}

// readPointer gets the pointer entity; ErrNotFound when there is none.
// An unreadable pointer gives ErrCorrupt and an entity with only the ETag.
func (s *Store) readPointer(ctx context.Context, hub string) (*pointerEntity, error) {
	resp, err := s.client.GetEntity(ctx, hub, pointerRow, nil)
	if err != nil {
		err = azstorage.Wrap(err)
		if errors.Is(err, azstorage.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("read pointer: %w", err)
	}
	p, err := decodePointer(resp.Value)
	if err == nil && checkGenID(p.Gen) != nil {
		err = fmt.Errorf("generation id %q: %w", p.Gen, ErrCorrupt)
	}
	if err != nil {
		// The ETag still lets Publish replace an unreadable pointer.
		return &pointerEntity{ETag: string(resp.ETag)}, fmt.Errorf("pointer: %w", err)
	}
	p.ETag = string(resp.ETag)
	return p, nil
}
