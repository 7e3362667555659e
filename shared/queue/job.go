package queue

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the envelope version Enqueue writes. Receive accepts envelopes
// up to this version; a missing "v" (a message put by hand) counts as the
// current version, and a newer one is parked.
const Version = 1

// KindAggregate is the job that re-aggregates one hub's feeds.
const KindAggregate = "aggregate"

// maxMessageText is the Queue service's limit on a message's text (64 KiB).
// The limit applies to the text we send, which is the base64 of the JSON.
const maxMessageText = 64 << 10

// maxLastError bounds Job.LastError so a long error cannot push a released
// message over the size limit.
const maxLastError = 2048

// maxReason bounds Parked.Reason.
const maxReason = 4096

// maxIDLen bounds a caller-supplied Job.ID.
const maxIDLen = 128

// Job is the versioned envelope every queue message carries, encoded as
// base64 of its JSON. Enqueue fills V, ID (when empty) and EnqueuedAt;
// Release fills Attempt and LastError.
type Job struct {
	// V is the envelope version (Version).
	V int `json:"v"`
	// ID identifies the job across retries and in logs.
	ID string `json:"id"`
	// Kind selects the handler; unknown kinds are parked.
	Kind string `json:"kind"`
	// Hub is the hub the job works on; it matches [A-Za-z0-9_-]{1,64}.
	Hub string `json:"hub"`
	// Reason says why the job was requested ("feed added", "schedule").
	Reason string `json:"reason,omitempty"`
	// RequestedBy names the curator or component that asked for the job.
	RequestedBy string `json:"requested_by,omitempty"`
	// EnqueuedAt is when the job was first enqueued.
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Attempt counts the releases so far (0 on the first delivery).
	Attempt int `json:"attempt"`
	// LastError is the cause passed to the latest Release.
	LastError string `json:"last_error,omitempty"`
	// Args carries kind-specific arguments as raw JSON.
	Args json.RawMessage `json:"args,omitempty"`
}

// Parked is a message in the poison queue: why and when it was parked, the
// original message text exactly as it was received, and the job when the
// text could be parsed.
type Parked struct {
	// Reason says why the message was parked.
	Reason string `json:"reason"`
	// ParkedAt is when the message was parked.
	ParkedAt time.Time `json:"parked_at"`
	// DequeueCount is the original message's dequeue count when parked.
	DequeueCount int64 `json:"dequeue_count"`
	// Queue is the queue the message was parked from.
	Queue string `json:"queue"`
	// MessageID is the original message's ID in Queue.
	MessageID string `json:"message_id"`
	// Message is the original message text.
	Message string `json:"message"`
	// Truncated reports that Message was cut to fit the size limit.
	Truncated bool `json:"truncated,omitempty"`
	// Job is the parsed job, nil when the text was malformed.
	Job *Job `json:"job,omitempty"`
}

// newID returns 16 random bytes in hex.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate job id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validHub reports whether hub matches [A-Za-z0-9_-]{1,64}.
func validHub(hub string) bool {
	if len(hub) == 0 || len(hub) > 64 {
		return false
	}
	for i := 0; i < len(hub); i++ {
		c := hub[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validID reports whether id is a usable job ID: 1 to 128 printable ASCII
// characters.
func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// encodeBase64JSON marshals v and encodes it as base64, refusing results
// over the message size limit with ErrTooLarge.
func encodeBase64JSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // no \u003c for <: the text is base64 on the wire anyway
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("%w: encode message: %w", ErrInvalid, err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if n := base64.StdEncoding.EncodedLen(len(b)); n > maxMessageText {
		return "", fmt.Errorf("%w: %d bytes encoded, limit %d", ErrTooLarge, n, maxMessageText)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// decodeText returns the JSON a message text carries: the text itself when
// it is plain JSON (put by hand), otherwise the base64 decoding of it.
func decodeText(text string) ([]byte, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "{") {
		return []byte(t), nil
	}
	b, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor base64: %w", err)
	}
	return b, nil
}

// parseJob decodes a message text into a Job. It fails only when the text
// is not a JSON object with the envelope's field types; checking the
// contents is checkJob's work.
func parseJob(text string) (Job, error) {
	b, err := decodeText(text)
	if err != nil {
		return Job{}, err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return Job{}, fmt.Errorf("not a JSON object")
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return Job{}, fmt.Errorf("bad JSON: %w", err)
	}
	return j, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
