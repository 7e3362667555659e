package tablestore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Session is a signed-in browser of the curator console. The cookie holds
// a secret whose SHA-256 is the session's ID, so the record alone cannot
// be replayed as a cookie. A session is bound to the token it signed in
// with: Bind derives from that token's stored hash (CuratorBinding), and
// the session ends when the curator is revoked or their token rotated.
type Session struct {
	// ID is the hex SHA-256 of the cookie's secret: 64 hex digits.
	ID string
	// CuratorID is the curator signed in; empty for the administrator.
	CuratorID string
	// Bind is what the session is bound to: a curator's CuratorBinding at
	// sign-in, or the console's own binding of the administrator's token.
	Bind string
	// CSRF is the session's anti-forgery token, sent back with every form.
	CSRF string
	// Created and Expires bound the session's life.
	Created, Expires time.Time
}

const sessionPartition = "session"

// sessionIDPattern is the shape of Session.ID.
var sessionIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

type sessionEntity struct {
	aztables.Entity
	CuratorID string
	Bind      string
	CSRF      string
	Created   time.Time
	Expires   time.Time
	// ExpiresType types Expires as a date, so PurgeSessions can filter on it.
	ExpiresType string `json:"Expires@odata.type,omitempty"`
}

// CreateSession stores a new session. An ID that is not 64 hex digits, or
// a session without Bind or CSRF, is an error; an ID in use is ErrExists.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	if !sessionIDPattern.MatchString(sess.ID) || sess.Bind == "" || sess.CSRF == "" || sess.Expires.IsZero() {
		return errors.New("create session: invalid session")
	}
	if sess.CuratorID != "" && !curatorIDPattern.MatchString(sess.CuratorID) {
		return errors.New("create session: invalid curator id")
	}
	b, err := json.Marshal(sessionEntity{
		Entity:    aztables.Entity{PartitionKey: sessionPartition, RowKey: sess.ID},
		CuratorID: sess.CuratorID, Bind: sess.Bind, CSRF: sess.CSRF,
		Created: sess.Created.UTC(), Expires: sess.Expires.UTC(), ExpiresType: "Edm.DateTime",
	})
	if err != nil {
		return err
	}
	if _, err := s.hubs.AddEntity(ctx, b, nil); err != nil {
		return mapErr("create session", err)
	}
	return nil
}

// GetSession returns the session with id, or ErrNotFound for an unknown
// or malformed id and for a session that has expired (which it deletes).
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	if !sessionIDPattern.MatchString(id) {
		return Session{}, fmt.Errorf("get session: %w", ErrNotFound)
	}
	resp, err := s.hubs.GetEntity(ctx, sessionPartition, id, nil)
	if err != nil {
		return Session{}, mapErr("get session", err)
	}
	var e sessionEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return Session{}, fmt.Errorf("decode session: %w", err)
	}
	sess := Session{ID: id, CuratorID: e.CuratorID, Bind: e.Bind, CSRF: e.CSRF, Created: e.Created, Expires: e.Expires}
	if !s.now().Before(sess.Expires) {
		_ = s.DeleteSession(ctx, id)
		return Session{}, fmt.Errorf("get session: expired: %w", ErrNotFound)
	}
	return sess, nil
}

// DeleteSession ends a session; one already gone is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if !sessionIDPattern.MatchString(id) {
		return nil
	}
	_, err := s.hubs.DeleteEntity(ctx, sessionPartition, id, nil)
	if err = mapErr("delete session", err); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// PurgeSessions deletes up to limit sessions that expired before now and
// returns how many it deleted; sign-in calls it, so expired sessions do
// not pile up.
func (s *Store) PurgeSessions(ctx context.Context, limit int) (int, error) {
	filter := fmt.Sprintf("PartitionKey eq '%s' and Expires lt datetime'%s'", sessionPartition, s.now().UTC().Format(time.RFC3339))
	top, sel := int32(limit), "RowKey"
	pager := s.hubs.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top, Select: &sel})
	n := 0
	for pager.More() && n < limit {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return n, mapErr("list expired sessions", err)
		}
		for _, b := range page.Entities {
			var e aztables.Entity
			if err := json.Unmarshal(b, &e); err != nil {
				return n, fmt.Errorf("decode session: %w", err)
			}
			if err := s.DeleteSession(ctx, e.RowKey); err != nil {
				return n, err
			}
			if n++; n == limit {
				break
			}
		}
	}
	return n, nil
}

// sessionBinding derives a session's binding from a token's stored hash,
// so that the record of a session never holds the hash itself.
func sessionBinding(tokenHash string) string {
	sum := sha256.Sum256([]byte("elmcity console session\x00" + tokenHash))
	return hex.EncodeToString(sum[:])
}

// AuthenticateForSession is Authenticate that also returns the binding of
// a session signed in with token: it changes when the curator's token is
// rotated, and CuratorBinding then no longer matches it.
func (s *Store) AuthenticateForSession(ctx context.Context, token string) (Curator, string, error) {
	c, err := s.Authenticate(ctx, token)
	if err != nil {
		return Curator{}, "", err
	}
	_, hash, err := s.curatorHash(ctx, c.ID)
	if err != nil {
		return Curator{}, "", err
	}
	return c, sessionBinding(hash), nil
}

// CuratorBinding returns the curator whose current token bind was derived
// from (AuthenticateForSession), comparing in constant time. A curator
// revoked, or whose token was rotated since, is ErrNotFound.
func (s *Store) CuratorBinding(ctx context.Context, id, bind string) (Curator, error) {
	c, hash, err := s.curatorHash(ctx, id)
	if err != nil {
		return Curator{}, err
	}
	if subtle.ConstantTimeCompare([]byte(sessionBinding(hash)), []byte(bind)) != 1 {
		return Curator{}, fmt.Errorf("curator %s: token changed: %w", id, ErrNotFound)
	}
	return c, nil
}

// curatorHash reads a curator and the stored hash of their token.
func (s *Store) curatorHash(ctx context.Context, id string) (Curator, string, error) {
	if !curatorIDPattern.MatchString(id) {
		return Curator{}, "", fmt.Errorf("get curator: %w", ErrNotFound)
	}
	resp, err := s.hubs.GetEntity(ctx, curatorPartition, id, nil)
	if err != nil {
		return Curator{}, "", mapErr("get curator "+id, err)
	}
	var e curatorEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return Curator{}, "", fmt.Errorf("decode curator: %w", err)
	}
	c, _, err := fromCuratorEntity(resp.Value)
	return c, e.TokenHash, err
}
