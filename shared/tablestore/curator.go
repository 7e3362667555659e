package tablestore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
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

// MaxCuratorHubs is the most hubs one curator may be granted.
const MaxCuratorHubs = 200

type curatorEntity struct {
	aztables.Entity
	Name      string
	Hubs      string // JSON array
	TokenHash string // hex SHA-256 of the secret part
	Created   time.Time
}

// fromCuratorEntity decodes a curator and the ETag of its record.
func fromCuratorEntity(b []byte) (Curator, string, error) {
	var e curatorEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return Curator{}, "", fmt.Errorf("decode curator: %w", err)
	}
	c := Curator{ID: e.RowKey, Name: e.Name, Created: e.Created, Hubs: []string{}}
	unjson(e.Hubs, &c.Hubs)
	return c, etagOf(b), nil
}

// newSecret makes a token secret and the hash that is stored of it.
func newSecret() (secret, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("make token: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:]), nil
}

func token(id, secret string) string { return "ect_" + id + "_" + secret }

// CreateCurator stores a new curator for the given hubs and returns it with
// its token. The token is not stored and cannot be recovered. Repeated
// hubs count once; every hub must exist and there may be at most
// MaxCuratorHubs, or the answer is a *hub.ValidationError naming "hubs".
func (s *Store) CreateCurator(ctx context.Context, name string, hubs []string) (Curator, string, error) {
	fe := map[string]string{}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		fe["name"] = "required, at most 200 characters"
	}
	hubs = uniq(hubs)
	if len(hubs) == 0 || len(hubs) > MaxCuratorHubs {
		fe["hubs"] = fmt.Sprintf("list 1-%d hub ids", MaxCuratorHubs)
	}
	for _, h := range hubs {
		if !hub.ValidID(h) {
			fe["hubs"] = fmt.Sprintf("%q is not a valid hub id", clipID(h))
			break
		}
	}
	if len(fe) > 0 {
		return Curator{}, "", &hub.ValidationError{Fields: fe}
	}
	missing, err := s.missingHubs(ctx, hubs)
	if err != nil {
		return Curator{}, "", err
	}
	if len(missing) > 0 {
		return Curator{}, "", &hub.ValidationError{Fields: map[string]string{"hubs": fmt.Sprintf("no hub %q", missing[0])}}
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return Curator{}, "", err
	}
	sec, hash, err := newSecret()
	if err != nil {
		return Curator{}, "", err
	}
	c := Curator{ID: hex.EncodeToString(idb[:]), Name: name, Hubs: hubs, Created: s.now().UTC().Truncate(time.Millisecond)}
	b, err := json.Marshal(curatorEntity{
		Entity:    aztables.Entity{PartitionKey: curatorPartition, RowKey: c.ID},
		Name:      c.Name,
		Hubs:      jsonString(c.Hubs),
		TokenHash: hash,
		Created:   c.Created,
	})
	if err != nil {
		return Curator{}, "", err
	}
	if _, err := s.hubs.AddEntity(ctx, b, nil); err != nil {
		return Curator{}, "", mapErr("create curator", err)
	}
	return c, token(c.ID, sec), nil
}

// uniq trims each id and drops repeats, keeping the order.
func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// clipID shortens an id quoted in an error message.
func clipID(s string) string {
	if r := []rune(s); len(r) > 70 {
		return string(r[:70]) + "..."
	}
	return s
}

// GetCurator returns one curator, or ErrNotFound.
func (s *Store) GetCurator(ctx context.Context, id string) (Curator, error) {
	if !curatorIDPattern.MatchString(id) {
		return Curator{}, fmt.Errorf("get curator: %w", ErrNotFound)
	}
	resp, err := s.hubs.GetEntity(ctx, curatorPartition, id, nil)
	if err != nil {
		return Curator{}, mapErr("get curator "+id, err)
	}
	c, _, err := fromCuratorEntity(resp.Value)
	return c, err
}

// ListCurators returns up to limit curators whose ids sort after after
// ("" for the first page), ordered by id, and the after of the next page
// ("" when there is none). Tokens are never listed. An after that is not
// a curator id is a *hub.ValidationError naming "after".
func (s *Store) ListCurators(ctx context.Context, after string, limit int) ([]Curator, string, error) {
	if after != "" && !curatorIDPattern.MatchString(after) {
		return nil, "", errBadPageToken
	}
	decode := func(b []byte) (Curator, error) {
		c, _, err := fromCuratorEntity(b)
		return c, err
	}
	return listPage(ctx, s.hubs, curatorPartition, after, limit, "list curators", decode, func(c Curator) string { return c.ID })
}

// RotateCuratorToken gives a curator a new token and returns it with the
// curator. The old token stops working at once; the new one is not
// stored and cannot be recovered. An unknown curator is ErrNotFound.
func (s *Store) RotateCuratorToken(ctx context.Context, id string) (Curator, string, error) {
	c, err := s.GetCurator(ctx, id)
	if err != nil {
		return Curator{}, "", err
	}
	sec, hash, err := newSecret()
	if err != nil {
		return Curator{}, "", err
	}
	b, err := json.Marshal(map[string]string{"PartitionKey": curatorPartition, "RowKey": id, "TokenHash": hash})
	if err != nil {
		return Curator{}, "", err
	}
	// Merge only the hash, whatever else changed since the read (a grant
	// removed); a curator deleted meanwhile is ErrNotFound.
	anyVersion := azcore.ETagAny
	if _, err := s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &anyVersion, UpdateMode: aztables.UpdateModeMerge}); err != nil {
		return Curator{}, "", mapErr("rotate token of curator "+id, err)
	}
	return c, token(id, sec), nil
}

// revokeGrants removes hubID from every curator's hubs, deleting a
// curator left with none, and returns how many curators it changed. Each
// change is conditional on the record read, and read again when someone
// changed it meanwhile.
func (s *Store) revokeGrants(ctx context.Context, hubID string) (int, error) {
	type rec struct {
		c    Curator
		etag string
	}
	decode := func(b []byte) (rec, error) {
		c, etag, err := fromCuratorEntity(b)
		return rec{c, etag}, err
	}
	all, err := listAll(ctx, s.hubs, "PartitionKey eq '"+curatorPartition+"'", "list curators", decode)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range all {
		for attempt := 0; r.c.Can(hubID); attempt++ {
			if attempt == 5 {
				return n, fmt.Errorf("remove grant of %s from curator %s: %w", hubID, r.c.ID, ErrChanged)
			}
			err := s.dropGrant(ctx, r.c, r.etag, hubID)
			if err == nil {
				n++
				break
			}
			if !errors.Is(err, ErrChanged) {
				return n, err
			}
			resp, err := s.hubs.GetEntity(ctx, curatorPartition, r.c.ID, nil)
			if errors.Is(mapErr("", err), ErrNotFound) {
				break
			}
			if err != nil {
				return n, mapErr("read curator "+r.c.ID, err)
			}
			if r.c, _, err = fromCuratorEntity(resp.Value); err != nil {
				return n, err
			}
			r.etag = string(resp.ETag)
		}
	}
	return n, nil
}

// dropGrant writes c without hubID, or deletes c if that was its last
// hub, conditional on etag. A curator already gone is not an error.
func (s *Store) dropGrant(ctx context.Context, c Curator, etag, hubID string) error {
	keep := make([]string, 0, len(c.Hubs))
	for _, h := range c.Hubs {
		if h != hubID {
			keep = append(keep, h)
		}
	}
	im := azcore.ETag(etag)
	if len(keep) == 0 {
		_, err := s.hubs.DeleteEntity(ctx, curatorPartition, c.ID, &aztables.DeleteEntityOptions{IfMatch: &im})
		if err = mapErr("revoke curator "+c.ID, err); errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	b, err := json.Marshal(map[string]string{"PartitionKey": curatorPartition, "RowKey": c.ID, "Hubs": jsonString(keep)})
	if err != nil {
		return err
	}
	_, err = s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &im, UpdateMode: aztables.UpdateModeMerge})
	if err = mapErr("remove grant from curator "+c.ID, err); errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
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
	c, _, err := fromCuratorEntity(resp.Value)
	return c, err
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
