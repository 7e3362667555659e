package tablestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

const markPartition = "mark"

type markEntity struct {
	aztables.Entity
	At time.Time
}

// Mark returns the time stored under name (when a scheduled task last
// ran), or the zero time when there is none.
func (s *Store) Mark(ctx context.Context, name string) (time.Time, error) {
	if !leaseName.MatchString(name) {
		return time.Time{}, fmt.Errorf("mark %q: invalid name", name)
	}
	resp, err := s.hubs.GetEntity(ctx, markPartition, name, nil)
	if err != nil {
		if errors.Is(mapErr("", err), ErrNotFound) {
			return time.Time{}, nil
		}
		return time.Time{}, mapErr("read mark "+name, err)
	}
	var e markEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return time.Time{}, fmt.Errorf("decode mark %s: %w", name, err)
	}
	return e.At, nil
}

// SetMark stores t under name.
func (s *Store) SetMark(ctx context.Context, name string, t time.Time) error {
	if !leaseName.MatchString(name) {
		return fmt.Errorf("mark %q: invalid name", name)
	}
	b, err := json.Marshal(markEntity{Entity: aztables.Entity{PartitionKey: markPartition, RowKey: name}, At: t.UTC()})
	if err != nil {
		return err
	}
	if _, err := s.hubs.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return mapErr("write mark "+name, err)
	}
	return nil
}
