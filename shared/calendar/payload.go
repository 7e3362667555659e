package calendar

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// EncodePayload writes a hub's published calendar: header (the run's
// summary, any JSON value) on the first line, then one HubEvent per line.
// The worker publishes it; the web role reads it back with DecodePayload.
func EncodePayload(header any, events []HubEvent) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header); err != nil {
		return nil, fmt.Errorf("encode payload header: %w", err)
	}
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return nil, fmt.Errorf("encode event %s: %w", events[i].UID, err)
		}
	}
	return buf.Bytes(), nil
}

// DecodePayload reads a payload written by EncodePayload, decoding its
// header into header (a pointer, or *json.RawMessage to keep it as is).
func DecodePayload(payload []byte, header any) ([]HubEvent, error) {
	sc := bufio.NewScanner(bytes.NewReader(payload))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	if !sc.Scan() {
		return nil, errors.New("decode payload: empty")
	}
	if err := json.Unmarshal(sc.Bytes(), header); err != nil {
		return nil, fmt.Errorf("decode payload header: %w", err)
	}
	var events []HubEvent
	for sc.Scan() {
		var e HubEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("decode payload event %d: %w", len(events)+1, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return events, nil
}
