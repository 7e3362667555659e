package tablestore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/hub"
)

// Curator is a person allowed to manage some hubs. The token that
// authenticates them is shown once, at creation; only its hash is stored.
type Curator struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Hubs    []string  `json:"hubs"`
	Created time.Time `json:"created"`
}

// Can reports whether the curator manages hubID.
func (c Curator) Can(hubID string) bool {
	for _, h := range c.Hubs {
		if h == hubID {
			return true
		}
	}
	return false
}

const curatorPartition = "curator"

// Tokens look like "ect_<id>_<secret>": the id finds the record with one
// point read, the secret is compared by hash in constant time.
var (
	tokenPattern     = regexp.MustCompile(`^ect_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$`)
	curatorIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

type curatorEntity struct {
	aztables.Entity
	Name      string
	Hubs      string // JSON array
	TokenHash string // hex SHA-256 of the secret part
	Created   time.Time
}

// CreateCurator stores a new curator for the given hubs and returns it with
// its token. The token is not stored and cannot be recovered.
func (s *Store) CreateCurator(ctx context.Context, name string, hubs []string) (Curator, string, error) {
	fe := map[string]string{}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		fe["name"] = "required, at most 200 characters"
	}
	if len(hubs) == 0 || len(hubs) > 1000 {
		fe["hubs"] = "list 1-1000 hub ids"
	}
	for _, h := range hubs {
		if !hub.ValidID(h) {
			fe["hubs"] = fmt.Sprintf("%q is not a valid hub id", h)
		}
	}
	if len(fe) > 0 {
		return Curator{}, "", &hub.ValidationError{Fields: fe}
	}
	var idb [8]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return Curator{}, "", err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return Curator{}, "", err
	}
	c := Curator{ID: hex.EncodeToString(idb[:]), Name: name, Hubs: hubs, Created: time.Now().UTC().Truncate(time.Millisecond)}
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(sec))
	b, err := json.Marshal(curatorEntity{
		Entity:    aztables.Entity{PartitionKey: curatorPartition, RowKey: c.ID},
		Name:      c.Name,
		Hubs:      jsonString(c.Hubs),
		TokenHash: hex.EncodeToString(sum[:]),
		Created:   c.Created,
	})
	if err != nil {
		return Curator{}, "", err
	}
	if _, err := s.hubs.AddEntity(ctx, b, nil); err != nil {
		return Curator{}, "", mapErr("create curator", err)
	}
	return c, "ect_" + c.ID + "_" + sec, nil
}

// Authenticate returns the curator a token belongs to, or ErrNotFound for
// any malformed, unknown or revoked token. The secret is compared in
// constant time.
func (s *Store) Authenticate(ctx context.Context, token string) (Curator, error) {
	m := tokenPattern.FindStringSubmatch(token)
	if m == nil {
		return Curator{}, fmt.Errorf("authenticate: %w", ErrNotFound)
	}
	resp, err := s.hubs.GetEntity(ctx, curatorPartition, m[1], nil)
	if err != nil {
		return Curator{}, mapErr("authenticate", err)
	}
	var e curatorEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return Curator{}, fmt.Errorf("decode curator: %w", err)
	}
	sum := sha256.Sum256([]byte(m[2]))
	want, err := hex.DecodeString(e.TokenHash)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return Curator{}, fmt.Errorf("authenticate: %w", ErrNotFound)
	}
	c := Curator{ID: e.RowKey, Name: e.Name, Created: e.Created}
	unjson(e.Hubs, &c.Hubs)
	return c, nil
}

// DeleteCurator revokes a curator: their token stops working at once.
func (s *Store) DeleteCurator(ctx context.Context, id string) error {
	if !curatorIDPattern.MatchString(id) {
		return fmt.Errorf("delete curator: %w", ErrNotFound)
	}
	if _, err := s.hubs.DeleteEntity(ctx, curatorPartition, id, nil); err != nil {
		return mapErr("delete curator "+id, err)
	}
	return nil
}
