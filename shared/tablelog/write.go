package tablelog

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
)

const (
	// maxBatchEntities is the service's limit on an entity group
	// transaction.
	maxBatchEntities = 100
	// maxBatchBytes keeps a transaction below the service's 4 MiB payload
	// limit, counting entityOverhead per entity for the multipart framing.
	maxBatchBytes  = 4_000_000
	entityOverhead = 1024

	maxAttrKeyBytes   = 128
	maxAttrValueBytes = 2 << 10
	attrsTruncatedKey = "attrs_truncated"

	edmDateTimeLayout = "2006-01-02T15:04:05.0000000Z"

	retryAttempts = 4
	retryBase     = 100 * time.Millisecond

	timeKeyLen = 19
	tagLen     = 12
	seqLen     = 16
	rowKeyLen  = timeKeyLen + 1 + tagLen + 1 + seqLen
)

// Write validates entries, stamps Role, Instance and Time where they are
// empty, and writes them synchronously, grouped by partition in transactions
// of at most 100 entities and 4 MiB. Transient failures are retried with
// backoff; a transaction refused for another reason is retried entity by
// entity, so one bad entry does not lose its neighbours. If any entry is
// invalid nothing is written and the error wraps ErrInvalid; otherwise the
// error says how many entries did not land. Write does not need the
// background writer and works after Close.
func (l *Log) Write(ctx context.Context, entries ...Entry) error {
	prepared := make([]Entry, len(entries))
	var errs []error
	for i, e := range entries {
		p, err := l.prepare(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d: %w", i, err))
			continue
		}
		prepared[i] = p
	}
	if len(errs) > 0 {
		return fmt.Errorf("write table log %s: %w", l.table, errors.Join(errs...))
	}
	if o := l.write(ctx, prepared); o.undone() > 0 {
		return fmt.Errorf("write table log %s: %d of %d entries not written: %w", l.table, o.undone(), len(prepared), o.err)
	}
	return nil
}

// prepare validates e and returns it ready to write: defaults applied,
// long values truncated, secrets redacted, a fresh RowKey in ID and the
// partition in Hub.
func (l *Log) prepare(e Entry) (Entry, error) {
	switch {
	case e.Hub == "":
		e.Hub = System
	case e.Hub != System && !ValidID(e.Hub):
		return Entry{}, fmt.Errorf("%w: hub %q", ErrInvalid, clip(e.Hub))
	}
	switch {
	case e.Type == "":
		e.Type = TypeInfo
	case !ValidID(e.Type):
		return Entry{}, fmt.Errorf("%w: type %q", ErrInvalid, clip(e.Type))
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	if !inKeyRange(e.Time) {
		return Entry{}, fmt.Errorf("%w: time %v outside 1970..2262", ErrInvalid, e.Time)
	}
	e.Time = e.Time.UTC()
	e.Role = truncate(cmp.Or(e.Role, l.role), maxRoleBytes)
	e.Instance = truncate(cmp.Or(e.Instance, l.inst), maxRoleBytes)
	e.Message = truncate(e.Message, MaxMessageBytes)
	e.Detail = truncate(e.Detail, MaxDetailBytes)
	e.Attrs = sanitizeAttrs(e.Attrs)
	e.ID = rowKey(e.Time, l.tag, l.seq.Add(1))
	return e, nil
}

// clip shortens untrusted input quoted in an error message.
func clip(s string) string {
	if len(s) > 80 {
		return truncate(s, 80)
	}
	return s
}

// truncate returns s, made valid UTF-8, cut at a rune boundary so that with
// its marker it is at most limit bytes.
func truncate(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= limit {
		return s
	}
	marker := "…[truncated, " + strconv.Itoa(len(s)) + " bytes total]"
	cut := limit - len(marker)
	if cut < 0 {
		return marker[:0]
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// secretKey reports whether an attribute key looks like it names a secret.
// Keys are split into words at anything but letters and digits
// ("db.password", "x-api-key", "accessToken" all match).
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range strings.FieldsFunc(k, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) {
		if strings.HasSuffix(w, "key") {
			return true
		}
		switch w {
		case "auth", "sas", "sig", "pwd", "bearer", "jwt":
			return true
		}
		for _, s := range [...]string{"token", "password", "passwd", "secret", "authorization", "credential", "cookie", "signature", "connectionstring"} {
			if strings.Contains(w, s) {
				return true
			}
		}
	}
	return false
}

// sanitizeAttrs copies attrs (the caller may reuse its map), redacting
// secrets and truncating long keys and values.
func sanitizeAttrs(attrs map[string]string) map[string]string {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		k = truncate(k, maxAttrKeyBytes)
		if secretKey(k) {
			v = Redacted
		} else {
			v = truncate(v, maxAttrValueBytes)
		}
		out[k] = v
	}
	return out
}

// attrsJSON encodes attrs as a JSON object of at most MaxAttrsBytes. When
// they do not fit, keys are kept in sorted order while they fit and
// attrsTruncatedKey says how many were left out.
func attrsJSON(attrs map[string]string) string {
	if len(attrs) == 0 {
		return ""
	}
	b, err := json.Marshal(attrs)
	if err == nil && len(b) <= MaxAttrsBytes {
		return string(b)
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	kept := make(map[string]string, len(keys))
	size, budget := 2, MaxAttrsBytes-64 // room for braces and the marker
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(attrs[k])
		n := len(kb) + len(vb) + 2
		if size+n > budget {
			continue
		}
		kept[k] = attrs[k]
		size += n
	}
	kept[attrsTruncatedKey] = strconv.Itoa(len(keys)-len(kept)) + " keys left out"
	b, _ = json.Marshal(kept)
	return string(b)
}

// inKeyRange reports whether t fits the row key: UnixNano between 0 and
// MaxInt64.
func inKeyRange(t time.Time) bool {
	return !t.Before(time.Unix(0, 0)) && t.Before(time.Unix(0, math.MaxInt64))
}

// appendTimeKey appends the 19-digit inverted time that starts a RowKey.
// Times outside the key range are clamped.
func appendTimeKey(b []byte, t time.Time) []byte {
	var ns int64
	switch {
	case t.Before(time.Unix(0, 0)):
		ns = 0
	case !t.Before(time.Unix(0, math.MaxInt64)):
		ns = math.MaxInt64
	default:
		ns = t.UnixNano()
	}
	n := uint64(math.MaxInt64 - ns)
	var d [timeKeyLen]byte
	for i := timeKeyLen - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:]...)
}

// timeKey returns the 19-digit inverted time for t.
func timeKey(t time.Time) string { return string(appendTimeKey(nil, t)) }

// rowKey builds "<inverted time>-<tag>-<inverted sequence>".
func rowKey(t time.Time, tag string, seq uint64) string {
	b := make([]byte, 0, rowKeyLen)
	b = appendTimeKey(b, t)
	b = append(b, '-')
	b = append(b, tag...)
	b = append(b, '-')
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], math.MaxUint64-seq)
	b = hex.AppendEncode(b, s[:])
	return string(b)
}

// validRowKey reports whether s has exactly the shape rowKey produces, so it
// can be placed in a filter.
func validRowKey(s string) bool {
	if len(s) != rowKeyLen || s[timeKeyLen] != '-' || s[timeKeyLen+1+tagLen] != '-' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case i == timeKeyLen || i == timeKeyLen+1+tagLen:
		case i < timeKeyLen:
			if c < '0' || c > '9' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// timeFromRowKey recovers the exact write time from a RowKey.
func timeFromRowKey(s string) (time.Time, bool) {
	if len(s) < timeKeyLen {
		return time.Time{}, false
	}
	n, err := strconv.ParseUint(s[:timeKeyLen], 10, 63)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, math.MaxInt64-int64(n)).UTC(), true
}

// tableEntity is the stored shape of an Entry.
type tableEntity struct {
	PartitionKey string
	RowKey       string
	Type         string
	Message      string
	Detail       string `json:",omitempty"`
	Role         string `json:",omitempty"`
	Instance     string `json:",omitempty"`
	Time         string
	TimeType     string `json:"Time@odata.type,omitempty"`
	Attrs        string `json:",omitempty"`
}

func marshalEntity(e Entry) ([]byte, error) {
	return json.Marshal(tableEntity{
		PartitionKey: e.Hub,
		RowKey:       e.ID,
		Type:         e.Type,
		Message:      e.Message,
		Detail:       e.Detail,
		Role:         e.Role,
		Instance:     e.Instance,
		Time:         e.Time.UTC().Format(edmDateTimeLayout),
		TimeType:     "Edm.DateTime",
		Attrs:        attrsJSON(e.Attrs),
	})
}

type record struct {
	rowKey string
	body   []byte
	entry  int // index in the entries written
}

// outcome is what a write left undone: entries that failed for a
// transient reason (storage unreachable, throttled, the context ended)
// and are worth writing again, and how many were refused for good.
type outcome struct {
	retry  []Entry
	failed int
	err    error
}

// undone is how many entries did not land.
func (o outcome) undone() int { return len(o.retry) + o.failed }

// write stores prepared entries and returns what did not land, with the
// reasons.
func (l *Log) write(ctx context.Context, entries []Entry) outcome {
	groups := make(map[string][]record)
	var order []string
	var out outcome
	var errs []error
	for i, e := range entries {
		body, err := marshalEntity(e)
		if err != nil {
			out.failed++
			errs = append(errs, fmt.Errorf("encode entry %s/%s: %w", e.Hub, e.ID, err))
			continue
		}
		if _, ok := groups[e.Hub]; !ok {
			order = append(order, e.Hub)
		}
		groups[e.Hub] = append(groups[e.Hub], record{rowKey: e.ID, body: body, entry: i})
	}
	for _, pk := range order {
		for _, batch := range splitBatches(groups[pk], maxBatchEntities, maxBatchBytes) {
			retry, failed, err := l.submit(ctx, pk, batch)
			for _, r := range retry {
				out.retry = append(out.retry, entries[r.entry])
			}
			out.failed += failed
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	out.err = errors.Join(errs...)
	return out
}

// splitBatches cuts one partition's records into transactions of at most
// maxCount entities and about maxBytes of payload.
func splitBatches(recs []record, maxCount, maxBytes int) [][]record {
	var out [][]record
	start, size := 0, 0
	for i, r := range recs {
		n := len(r.body) + entityOverhead
		if i > start && (i-start == maxCount || size+n > maxBytes) {
			out = append(out, recs[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(recs) {
		out = append(out, recs[start:])
	}
	return out
}

// submit writes one batch as a transaction, falling back to single inserts
// when the service refuses the transaction for a non-transient reason. It
// returns the records that failed transiently and how many were refused.
func (l *Log) submit(ctx context.Context, pk string, batch []record) ([]record, int, error) {
	actions := make([]aztables.TransactionAction, len(batch))
	for i, r := range batch {
		actions[i] = aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: r.body}
	}
	err := retry(ctx, func() error {
		_, err := l.client.SubmitTransaction(ctx, actions, nil)
		return err
	})
	if err == nil {
		return nil, 0, nil
	}
	if azstorage.Transient(err) || ctx.Err() != nil {
		return batch, 0, fmt.Errorf("write %d entries to partition %s: %w", len(batch), pk, err)
	}
	// A refused transaction writes nothing; insert one by one so only the
	// bad entities are lost. A conflict means an earlier attempt landed:
	// row keys are unique to this writer.
	var again []record
	failed := 0
	var errs []error
	for _, r := range batch {
		if err := ctx.Err(); err != nil {
			again = append(again, r)
			errs = append(errs, fmt.Errorf("write entry %s/%s: %w", pk, r.rowKey, err))
			continue
		}
		err := retry(ctx, func() error {
			_, err := l.client.AddEntity(ctx, r.body, nil)
			return err
		})
		switch {
		case err == nil || errors.Is(err, azstorage.ErrConflict):
		case azstorage.Transient(err) || ctx.Err() != nil:
			again = append(again, r)
			errs = append(errs, fmt.Errorf("write entry %s/%s: %w", pk, r.rowKey, err))
		default:
			failed++
			errs = append(errs, fmt.Errorf("write entry %s/%s: %w", pk, r.rowKey, err))
		}
	}
	return again, failed, errors.Join(errs...)
}

// retry runs op until it succeeds, fails permanently, ctx ends or
// retryAttempts are used, waiting retryBase, 2×retryBase... between
// attempts. The error is translated by azstorage.Wrap.
func retry(ctx context.Context, op func() error) error {
	delay := retryBase
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		err = azstorage.Wrap(err)
		if attempt == retryAttempts || !azstorage.Transient(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay *= 2
	}
}
