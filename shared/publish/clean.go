package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
)

// Cleanup deletes the hub's generations that the pointer does not
// reference (neither current nor kept) and that are older than
// Config.OrphanAge: the chunks of failed or interrupted publishes, and old
// generations whose deletion after a switch failed. It returns the number
// of generations deleted, and ErrInvalid for a bad hub id.
func (s *Store) Cleanup(ctx context.Context, hub string) (int, error) {
	if err := checkHub(hub); err != nil {
		return 0, fmt.Errorf("cleanup: %w", err)
	}
	refs := make(map[string]bool)
	p, err := s.readPointer(ctx, hub)
	switch {
	case err == nil:
		refs[p.Gen] = true
		for _, id := range p.prev() {
			refs[id] = true
		}
	case !errors.Is(err, ErrNotFound):
		return 0, fmt.Errorf("cleanup %s: %w", hub, err)
	}
	keys, err := s.listKeys(ctx, "PartitionKey eq '"+hub+"' and RowKey ge 'g' and RowKey lt 'h'")
	if err != nil {
		return 0, fmt.Errorf("cleanup %s: %w", hub, err)
	}
	var order []string
	byGen := make(map[string][]string)
	for _, k := range keys {
		id, ok := genOf(k)
		if !ok || refs[id] {
			continue
		}
		if byGen[id] == nil {
			order = append(order, id)
		}
		byGen[id] = append(byGen[id], k)
	}
	cutoff := s.now().Add(-s.orphanAge)
	removed := 0
	for _, id := range order {
		if t, _ := idTime(id); !t.Before(cutoff) {
			continue // possibly a publish in progress
		}
		if err := s.deleteKeys(ctx, hub, byGen[id]); err != nil {
			return removed, fmt.Errorf("cleanup %s generation %s: %w", hub, id, err)
		}
		removed++
	}
	return removed, nil
}

// Delete removes everything published for the hub: the pointer first, so
// readers see ErrNotFound at once, then every generation. Deleting a hub
// with nothing published is not an error. It returns ErrInvalid for a bad
// hub id.
func (s *Store) Delete(ctx context.Context, hub string) error {
	if err := checkHub(hub); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if _, err := s.client.DeleteEntity(ctx, hub, pointerRow, nil); err != nil {
		if err = azstorage.Wrap(err); !errors.Is(err, azstorage.ErrNotFound) {
			return fmt.Errorf("delete %s: pointer: %w", hub, err)
		}
	}
	keys, err := s.listKeys(ctx, "PartitionKey eq '"+hub+"'")
	if err != nil {
		return fmt.Errorf("delete %s: %w", hub, err)
	}
	if err := s.deleteKeys(ctx, hub, keys); err != nil {
		return fmt.Errorf("delete %s: %w", hub, err)
	}
	return nil
}

// deleteGeneration deletes every entity of one generation.
func (s *Store) deleteGeneration(ctx context.Context, hub, id string) error {
	keys, err := s.listKeys(ctx, rangeFilter(hub, id))
	if err != nil {
		return err
	}
	return s.deleteKeys(ctx, hub, keys)
}

// listKeys returns the row keys that filter selects, in order.
func (s *Store) listKeys(ctx context.Context, filter string) ([]string, error) {
	sel := "RowKey"
	pager := s.client.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	var keys []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list row keys: %w", azstorage.Wrap(err))
		}
		for _, raw := range page.Entities {
			var e struct{ RowKey string }
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("list row keys: %w", err)
			}
			keys = append(keys, e.RowKey)
		}
	}
	return keys, nil
}

// deleteKeys deletes entities of the hub's partition in transactions of up
// to 100. A transaction fails as a whole if one entity is already gone (a
// concurrent clean-up), so a failed one is retried entity by entity,
// ignoring those not found.
func (s *Store) deleteKeys(ctx context.Context, hub string, keys []string) error {
	for start := 0; start < len(keys); start += maxBatchSize {
		chunk := keys[start:min(start+maxBatchSize, len(keys))]
		actions := make([]aztables.TransactionAction, len(chunk))
		for i, k := range chunk {
			body, err := json.Marshal(aztables.Entity{PartitionKey: hub, RowKey: k})
			if err != nil {
				return fmt.Errorf("encode key: %w", err)
			}
			actions[i] = aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: body}
		}
		if _, err := s.client.SubmitTransaction(ctx, actions, nil); err == nil {
			continue
		} else if ctx.Err() != nil {
			return fmt.Errorf("delete %d entities: %w", len(chunk), err)
		}
		for _, k := range chunk {
			if _, err := s.client.DeleteEntity(ctx, hub, k, nil); err != nil {
				if err = azstorage.Wrap(err); !errors.Is(err, azstorage.ErrNotFound) {
					return fmt.Errorf("delete entity %s: %w", k, err)
				}
			}
		}
	}
	return nil
}
