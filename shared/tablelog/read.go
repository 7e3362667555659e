package tablelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
)

// Limits on a Query.
const (
	// DefaultLimit is the Limit of a Query that sets none.
	DefaultLimit = 100
	// MaxLimit is the largest Limit; a larger one is rejected with
	// ErrInvalid.
	MaxLimit = 10000
	// MaxTypes is the most types one Query may filter on.
	MaxTypes = 32
)

// servicePage is the most entities the Table service returns per request.
const servicePage = 1000

// Query selects entries of one partition for Read.
type Query struct {
	// Hub is the partition to read: a hub id, System, or "" for System.
	Hub string
	// Types keeps only entries of these types (each must pass ValidID);
	// empty keeps all.
	Types []string
	// Since keeps entries with Time >= Since (inclusive); zero means no
	// lower bound.
	Since time.Time
	// Until keeps entries with Time < Until (exclusive); zero means no upper
	// bound.
	Until time.Time
	// Include keeps entries whose Message or Detail contains any term,
	// ignoring case. Exclude drops entries that contain any term. Both are
	// applied by the client after the service query; empty terms are
	// ignored.
	Include, Exclude []string
	// Limit is the most entries to return: 0 means DefaultLimit, at most
	// MaxLimit.
	Limit int
	// After is Page.Next from a previous Read, to continue after it.
	After string
}

// Page is one result of Read, newest first.
type Page struct {
	Entries []Entry
	// Next continues the query in Query.After; "" when there is no more.
	Next string
}

// Read returns the newest entries of q.Hub that match q, newest first. It
// follows the service's pages of 1,000 until it has q.Limit matches or the
// partition ends; with Include or Exclude terms that can mean scanning the
// whole range, so bound ctx on large partitions. Page.Next is set when
// Limit was reached before the end (the next page may then be empty). Invalid queries return an error wrapping ErrInvalid;
// storage errors are wrapped by azstorage.Wrap.
func (l *Log) Read(ctx context.Context, q Query) (Page, error) {
	filter, limit, err := q.compile()
	if err != nil {
		return Page{}, fmt.Errorf("read table log: %w", err)
	}
	include, exclude := lowerTerms(q.Include), lowerTerms(q.Exclude)
	top := int32(servicePage)
	if len(include) == 0 && len(exclude) == 0 && limit < servicePage {
		top = int32(limit)
	}
	sel := "PartitionKey,RowKey,Type,Message,Detail,Role,Instance,Time,Attrs"
	pager := l.client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel, Top: &top})
	var page Page
	for pager.More() {
		resp, err := pager.NextPage(ctx)
		if err != nil {
			return Page{}, fmt.Errorf("read table log %s partition %s: %w", l.table, partitionOf(q.Hub), azstorage.Wrap(err))
		}
		for i, raw := range resp.Entities {
			e, err := decodeEntity(raw)
			if err != nil {
				return Page{}, fmt.Errorf("read table log %s partition %s: %w", l.table, partitionOf(q.Hub), err)
			}
			if !matches(e, include, exclude) {
				continue
			}
			page.Entries = append(page.Entries, e)
			if len(page.Entries) == limit {
				if i < len(resp.Entities)-1 || pager.More() {
					page.Next = e.ID
				}
				return page, nil
			}
		}
	}
	return page, nil
}

func partitionOf(hub string) string {
	if hub == "" {
		return System
	}
	return hub
}

// checkHub returns the partition for hub, or an error wrapping ErrInvalid.
func checkHub(hub string) (string, error) {
	pk := partitionOf(hub)
	if pk != System && !ValidID(pk) {
		return "", fmt.Errorf("%w: hub %q", ErrInvalid, clip(hub))
	}
	return pk, nil
}

// compile validates q and builds its OData filter. Every piece of text in
// the filter is either a constant, a string that passed ValidID or
// validRowKey, or digits computed here.
func (q Query) compile() (filter string, limit int, err error) {
	pk, err := checkHub(q.Hub)
	if err != nil {
		return "", 0, err
	}
	limit = q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return "", 0, fmt.Errorf("%w: limit %d not in 1..%d", ErrInvalid, q.Limit, MaxLimit)
	}
	if len(q.Types) > MaxTypes {
		return "", 0, fmt.Errorf("%w: %d types, at most %d", ErrInvalid, len(q.Types), MaxTypes)
	}
	for _, t := range q.Types {
		if !ValidID(t) {
			return "", 0, fmt.Errorf("%w: type %q", ErrInvalid, clip(t))
		}
	}
	if q.After != "" && !validRowKey(q.After) {
		return "", 0, fmt.Errorf("%w: page token %q", ErrInvalid, clip(q.After))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return "", 0, fmt.Errorf("%w: until %v is not after since %v", ErrInvalid, q.Until, q.Since)
	}

	var b strings.Builder
	b.WriteString("PartitionKey eq '")
	b.WriteString(pk)
	b.WriteString("'")
	// A RowKey is "<19 digits>-...". '.' sorts after '-', so "<digits>."
	// is above every key with those digits and below every key with larger
	// digits (older entries).
	if !q.Since.IsZero() {
		// Time >= Since  <=>  digits <= timeKey(Since).
		b.WriteString(" and RowKey lt '")
		b.WriteString(timeKey(q.Since))
		b.WriteString(".'")
	}
	if !q.Until.IsZero() {
		// Time < Until  <=>  digits > timeKey(Until).
		b.WriteString(" and RowKey gt '")
		b.WriteString(timeKey(q.Until))
		b.WriteString(".'")
	}
	if q.After != "" {
		b.WriteString(" and RowKey gt '")
		b.WriteString(q.After)
		b.WriteString("'")
	}
	if len(q.Types) > 0 {
		b.WriteString(" and (")
		for i, t := range q.Types {
			if i > 0 {
				b.WriteString(" or ")
			}
			b.WriteString("Type eq '")
			b.WriteString(t)
			b.WriteString("'")
		}
		b.WriteString(")")
	}
	return b.String(), limit, nil
}

func lowerTerms(terms []string) []string {
	var out []string
	for _, t := range terms {
		if t != "" {
			out = append(out, strings.ToLower(t))
		}
	}
	return out
}

// matches applies Include and Exclude (already lower-cased) to e.
func matches(e Entry, include, exclude []string) bool {
	if len(include) == 0 && len(exclude) == 0 {
		return true
	}
	msg, detail := strings.ToLower(e.Message), strings.ToLower(e.Detail)
	if len(include) > 0 && !slices.ContainsFunc(include, func(t string) bool {
		return strings.Contains(msg, t) || strings.Contains(detail, t)
	}) {
		return false
	}
	for _, t := range exclude {
		if strings.Contains(msg, t) || strings.Contains(detail, t) {
			return false
		}
	}
	return true
}

// decodeEntity turns a stored entity back into an Entry. Time comes from
// the RowKey, which keeps nanoseconds; the Time property (100 ns
// resolution) is used for rows not written by this package.
func decodeEntity(raw []byte) (Entry, error) {
	var te tableEntity
	if err := json.Unmarshal(raw, &te); err != nil {
		return Entry{}, fmt.Errorf("decode entity: %w", err)
	}
	e := Entry{
		ID:       te.RowKey,
		Hub:      te.PartitionKey,
		Type:     te.Type,
		Message:  te.Message,
		Detail:   te.Detail,
		Role:     te.Role,
		Instance: te.Instance,
	}
	if t, ok := timeFromRowKey(te.RowKey); ok && validRowKey(te.RowKey) {
		e.Time = t
	} else if t, err := time.Parse(time.RFC3339Nano, te.Time); err == nil {
		e.Time = t.UTC()
	}
	if te.Attrs != "" {
		if err := json.Unmarshal([]byte(te.Attrs), &e.Attrs); err != nil {
			e.Attrs = map[string]string{"attrs_raw": te.Attrs}
		}
	}
	return e, nil
}

// Purge deletes the entries of hub ("" or System for the system partition)
// written before olderThan, in transactions of 100, and returns how many it
// deleted. Entries deleted concurrently by someone else are not counted.
// An invalid hub or a zero olderThan returns an error wrapping ErrInvalid.
func (l *Log) Purge(ctx context.Context, hub string, olderThan time.Time) (int, error) {
	pk, err := checkHub(hub)
	if err != nil {
		return 0, fmt.Errorf("purge table log: %w", err)
	}
	if olderThan.IsZero() {
		return 0, fmt.Errorf("purge table log: %w: zero time", ErrInvalid)
	}
	// Time < olderThan  <=>  digits > timeKey(olderThan).
	filter := "PartitionKey eq '" + pk + "' and RowKey gt '" + timeKey(olderThan) + ".'"
	sel := "PartitionKey,RowKey"
	top := int32(servicePage)
	pager := l.client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel, Top: &top})
	deleted := 0
	for pager.More() {
		resp, err := pager.NextPage(ctx)
		if err != nil {
			return deleted, fmt.Errorf("purge table log %s partition %s: list: %w", l.table, pk, azstorage.Wrap(err))
		}
		keys := make([]string, 0, len(resp.Entities))
		for _, raw := range resp.Entities {
			var k struct{ RowKey string }
			if err := json.Unmarshal(raw, &k); err != nil {
				return deleted, fmt.Errorf("purge table log %s partition %s: decode: %w", l.table, pk, err)
			}
			keys = append(keys, k.RowKey)
		}
		for chunk := range slices.Chunk(keys, maxBatchEntities) {
			n, err := l.deleteBatch(ctx, pk, chunk)
			deleted += n
			if err != nil {
				return deleted, fmt.Errorf("purge table log %s partition %s: %w", l.table, pk, err)
			}
		}
	}
	return deleted, nil
}

// deleteBatch deletes rows of one partition in one transaction, or one by
// one if the transaction is refused (for example because a row is already
// gone).
func (l *Log) deleteBatch(ctx context.Context, pk string, rowKeys []string) (int, error) {
	actions := make([]aztables.TransactionAction, len(rowKeys))
	for i, rk := range rowKeys {
		body, err := json.Marshal(struct{ PartitionKey, RowKey string }{pk, rk})
		if err != nil {
			return 0, fmt.Errorf("encode key: %w", err)
		}
		actions[i] = aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: body}
	}
	err := retry(ctx, func() error {
		_, err := l.client.SubmitTransaction(ctx, actions, nil)
		return err
	})
	if err == nil {
		return len(rowKeys), nil
	}
	if azstorage.Transient(err) || ctx.Err() != nil {
		return 0, fmt.Errorf("delete %d entries: %w", len(rowKeys), err)
	}
	n := 0
	for _, rk := range rowKeys {
		err := retry(ctx, func() error {
			_, err := l.client.DeleteEntity(ctx, pk, rk, nil)
			return err
		})
		switch {
		case err == nil:
			n++
		case errors.Is(err, azstorage.ErrNotFound):
		default:
			return n, fmt.Errorf("delete entry %s: %w", rk, err)
		}
	}
	return n, nil
}
