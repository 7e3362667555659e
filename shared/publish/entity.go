package publish

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Storage layout. Azure limits an Edm.Binary property to 64 KiB, an entity
// to 1 MiB and 252 properties, and a batch to 100 entities and 4 MiB, all
// in one partition. Binary travels base64 in the JSON payload, so the
// entity and batch budgets count the inflated size.
const (
	// partSize is the bytes of one binary property (D00, D01 ...).
	partSize = 64 << 10
	// partJSON is one full property as JSON: name, type annotation and
	// base64 value.
	partJSON = (partSize+2)/3*4 + len(`,"D00@odata.type":"Edm.Binary","D00":""`)
	// maxEntityJSON is an entity's JSON budget, with headroom under 1 MiB.
	maxEntityJSON = 1<<20 - 64<<10
	// partsPerEntity is 11: 704 KiB of compressed data, 940 KiB of JSON.
	partsPerEntity = (maxEntityJSON - 512) / partJSON
	// maxBatchJSON is a transaction's budget: three full chunk entities,
	// well under 4 MiB (Azurite answers 413 a little over 4 MiB).
	maxBatchJSON = 3 << 20
	// maxBatchSize is Azure's limit of entities per transaction.
	maxBatchSize = 100
	// batchOverhead is roughly what the multipart envelope adds per entity.
	batchOverhead = 1 << 10
	// maxChunks keeps chunk row keys at four digits.
	maxChunks = 10000

	pointerRow   = "current"
	codecDeflate = "deflate"
	edmInt64     = "Edm.Int64"
	edmDateTime  = "Edm.DateTime"
)

// Generation ids: "20261201T1900001234567Z3fa9c2e1".
const (
	idTimeLayout = "20060102T150405"
	idLen        = len(idTimeLayout) + 7 + 1 + 8
)

// newID returns a generation id for t (UTC, 100 ns resolution) with 32
// random bits, so two publishers in the same instant do not collide.
func newID(t time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
	t = t.UTC()
	return t.Format(idTimeLayout) + fmt.Sprintf("%07dZ", t.Nanosecond()/100) + hex.EncodeToString(r[:])
}

// idTime parses a generation id, reporting false for anything that is not
// exactly the format newID produces. Only ids that parse reach a filter.
func idTime(id string) (time.Time, bool) {
	if len(id) != idLen || id[len(idTimeLayout)+7] != 'Z' {
		return time.Time{}, false
	}
	t, err := time.Parse(idTimeLayout, id[:len(idTimeLayout)])
	if err != nil {
		return time.Time{}, false
	}
	frac := id[len(idTimeLayout) : len(idTimeLayout)+7]
	for _, c := range frac {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
	}
	for _, c := range id[len(idTimeLayout)+8:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return time.Time{}, false
		}
	}
	n, _ := strconv.Atoi(frac)
	return t.Add(time.Duration(n) * 100), true
}

func checkGenID(id string) error {
	if _, ok := idTime(id); !ok {
		return fmt.Errorf("generation id %q: %w", id, ErrInvalid)
	}
	return nil
}

// Row keys of a generation. Every key of generation id is >= genLow(id)
// and < genHigh(id), since '.' follows '-'.
func chunkKey(id string, i int) string { return fmt.Sprintf("g%s-c%04d", id, i) }
func manifestKey(id string) string     { return "g" + id + "-m" }
func genLow(id string) string          { return "g" + id + "-" }
func genHigh(id string) string         { return "g" + id + "." }

// genOf returns the generation id of a row key in the "g" range.
func genOf(rowKey string) (string, bool) {
	if len(rowKey) < 1+idLen+1 || rowKey[0] != 'g' || rowKey[1+idLen] != '-' {
		return "", false
	}
	id := rowKey[1 : 1+idLen]
	if _, ok := idTime(id); !ok {
		return "", false
	}
	return id, true
}

// rangeFilter selects one generation's entities. hub and id are validated.
func rangeFilter(hub, id string) string {
	return "PartitionKey eq '" + hub + "' and RowKey ge '" + genLow(id) + "' and RowKey lt '" + genHigh(id) + "'"
}

// partName is the name of a chunk entity's i-th binary property.
func partName(i int) string { return fmt.Sprintf("D%02d", i) }

// appendChunk appends the JSON of one chunk entity holding data, which is
// at most partsPerEntity*partSize bytes. hub and rowKey need no
// escaping.
func appendChunk(dst []byte, hub, rowKey string, data []byte) []byte {
	parts := (len(data) + partSize - 1) / partSize
	dst = append(dst, `{"PartitionKey":"`...)
	dst = append(dst, hub...)
	dst = append(dst, `","RowKey":"`...)
	dst = append(dst, rowKey...)
	dst = append(dst, `","Parts":`...)
	dst = strconv.AppendInt(dst, int64(parts), 10)
	for i := range parts {
		name := partName(i)
		dst = append(dst, `,"`...)
		dst = append(dst, name...)
		dst = append(dst, `@odata.type":"Edm.Binary","`...)
		dst = append(dst, name...)
		dst = append(dst, `":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, data[i*partSize:min(len(data), (i+1)*partSize)])
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// decodeChunk appends the bytes of a chunk entity to z.
func decodeChunk(props map[string]json.RawMessage, z []byte) ([]byte, error) {
	var parts int
	if err := json.Unmarshal(props["Parts"], &parts); err != nil || parts < 0 || parts > 99 {
		return z, fmt.Errorf("chunk parts %s: %w", props["Parts"], ErrCorrupt)
	}
	for i := range parts {
		raw, ok := props[partName(i)]
		if !ok {
			return z, fmt.Errorf("chunk property %s missing: %w", partName(i), ErrCorrupt)
		}
		var err error
		if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && !strings.Contains(string(raw[1:len(raw)-1]), `\`) {
			z, err = base64.StdEncoding.AppendDecode(z, raw[1:len(raw)-1])
		} else { // escaped JSON: let encoding/json unescape and decode
			var b []byte
			if err = json.Unmarshal(raw, &b); err == nil {
				z = append(z, b...)
			}
		}
		if err != nil {
			return z, fmt.Errorf("chunk property %s: %w", partName(i), ErrCorrupt)
		}
	}
	return z, nil
}

// pointerEntity is both the manifest of a generation ("g<id>-m") and, with
// Gen and Prev set, the hub's pointer ("current").
type pointerEntity struct {
	PartitionKey    string    `json:"PartitionKey"`
	RowKey          string    `json:"RowKey"`
	Gen             string    `json:"Gen,omitempty"`
	Prev            string    `json:"Prev,omitempty"`
	Codec           string    `json:"Codec"`
	Chunks          int32     `json:"Chunks"`
	SizeType        string    `json:"Size@odata.type,omitempty"`
	Size            int64     `json:"Size,string"`
	StoredType      string    `json:"Stored@odata.type,omitempty"`
	Stored          int64     `json:"Stored,string"`
	SHA256          string    `json:"SHA256"`
	PublishedAtType string    `json:"PublishedAt@odata.type,omitempty"`
	PublishedAt     time.Time `json:"PublishedAt"`
	Meta            string    `json:"Meta,omitempty"`
	ETag            string    `json:"-"`
}

func (p *pointerEntity) marshal() []byte {
	p.SizeType, p.StoredType, p.PublishedAtType = edmInt64, edmInt64, edmDateTime
	b, err := json.Marshal(p)
	if err != nil {
		panic("publish: marshal pointer: " + err.Error()) // only strings, ints and a UTC time
	}
	return b
}

func decodePointer(b []byte) (*pointerEntity, error) {
	var p pointerEntity
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode: %w: %w", ErrCorrupt, err)
	}
	return &p, nil
}

// prev lists the kept previous generations, newest first. Ids that do not
// validate are dropped: they come from storage and may reach a filter.
func (p *pointerEntity) prev() []string {
	var ids []string
	for id := range strings.SplitSeq(p.Prev, ",") {
		if _, ok := idTime(id); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// pointer converts the entity for callers.
func (p *pointerEntity) pointer(hub string) (Pointer, error) {
	meta, err := decodeMeta(p.Meta)
	if err != nil {
		return Pointer{}, err
	}
	return Pointer{
		Hub: hub, ID: p.Gen, PublishedAt: p.PublishedAt.UTC(), Meta: meta,
		Size: p.Size, Stored: p.Stored, Chunks: int(p.Chunks), SHA256: p.SHA256,
		Previous: p.prev(), ETag: p.ETag,
	}, nil
}

func encodeMeta(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode meta: %w", err)
	}
	if len(b) > MaxMetaBytes {
		return "", fmt.Errorf("meta is %d bytes as JSON, more than %d: %w", len(b), MaxMetaBytes, ErrInvalid)
	}
	return string(b), nil
}

func decodeMeta(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode meta: %w: %w", ErrCorrupt, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
