package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// Cookie names. Behind https the session cookie takes the __Host- prefix,
// which browsers accept only Secure, for the whole site and from this
// host alone.
const (
	sessionCookie       = "elmcity_console"
	secureSessionCookie = "__Host-elmcity_console"
	loginCookie         = "elmcity_console_login"
	secureLoginCookie   = "__Host-elmcity_console_login"
)

// maxPurge bounds the expired sessions one sign-in deletes.
const maxPurge = 50

// session is a checked session: who it is for, and its record.
type session struct {
	Principal
	rec tablestore.Session
}

// secure reports whether r's cookies are Secure: on a TLS connection, or
// when the site is served over https (Deps.Secure).
func (c *Console) secure(r *http.Request) bool { return c.deps.Secure || r.TLS != nil }

func (c *Console) cookieName(r *http.Request) string {
	if c.secure(r) {
		return secureSessionCookie
	}
	return sessionCookie
}

// setCookie sets an HttpOnly, SameSite=Strict cookie for the whole site,
// Secure when r is; maxAge < 0 deletes it.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	// #nosec G124 -- Secure whenever the request came over https (c.secure).
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteStrictMode})
}

// Principal returns who r's session cookie signs in, for the routes
// outside the console that accept it (GET /services/{hub}/{what}). ok is
// false without a cookie or with an unknown, expired or unbound session
// (revoked curator, rotated token); err is a storage failure.
func (c *Console) Principal(r *http.Request) (p Principal, ok bool, err error) {
	s, err := c.session(r)
	if errors.Is(err, tablestore.ErrNotFound) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, err
	}
	return s.Principal, true, nil
}

// session reads and checks r's session: its record exists and has not
// expired, and it is still bound to the token that signed in, or
// tablestore.ErrNotFound.
func (c *Console) session(r *http.Request) (session, error) {
	ck, err := r.Cookie(c.cookieName(r))
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return session{}, fmt.Errorf("no session cookie: %w", tablestore.ErrNotFound)
	}
	ctx := r.Context()
	rec, err := c.deps.Store.GetSession(ctx, sessionID(ck.Value))
	if err != nil {
		return session{}, err
	}
	if !c.deps.Now().Before(rec.Expires) {
		return session{}, fmt.Errorf("session expired: %w", tablestore.ErrNotFound)
	}
	if rec.CuratorID == "" {
		if c.adminSum == nil || subtle.ConstantTimeCompare([]byte(rec.Bind), []byte(c.adminBinding())) != 1 {
			return session{}, fmt.Errorf("administrator's token changed: %w", tablestore.ErrNotFound)
		}
		return session{Principal: Principal{Admin: true}, rec: rec}, nil
	}
	cur, err := c.deps.Store.CuratorBinding(ctx, rec.CuratorID, rec.Bind)
	if err != nil {
		return session{}, err
	}
	return session{Principal: Principal{Curator: cur}, rec: rec}, nil
}

// sessionID is the id of the session whose cookie holds secret: its
// SHA-256, so the store never holds a usable cookie.
func sessionID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// adminBinding binds an administrator's session to the current admin
// token: a new ELMCITY_ADMIN_TOKEN ends every administrator's session.
func (c *Console) adminBinding() string {
	sum := sha256.Sum256(append([]byte("elmcity console admin\x00"), c.adminSum...))
	return hex.EncodeToString(sum[:])
}

// randomToken is 32 random bytes, base64url.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// signIn checks a pasted token and starts a session for it, setting the
// cookie. A token that is not the administrator's or a curator's is
// tablestore.ErrNotFound.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, token string) (Principal, error) {
	ctx := r.Context()
	var p Principal
	rec := tablestore.Session{}
	sum := sha256.Sum256([]byte(token))
	switch {
	case token == "" || len(token) > 512:
		return Principal{}, fmt.Errorf("sign in: %w", tablestore.ErrNotFound)
	case c.adminSum != nil && subtle.ConstantTimeCompare(sum[:], c.adminSum) == 1:
		p = Principal{Admin: true}
		rec.Bind = c.adminBinding()
	default:
		cur, bind, err := c.deps.Store.AuthenticateForSession(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		p = Principal{Curator: cur}
		rec.CuratorID, rec.Bind = cur.ID, bind
	}
	secret, err := randomToken()
	if err != nil {
		return Principal{}, err
	}
	if rec.CSRF, err = randomToken(); err != nil {
		return Principal{}, err
	}
	now := c.deps.Now()
	rec.ID, rec.Created, rec.Expires = sessionID(secret), now, now.Add(c.deps.Lifetime)
	if _, err := c.deps.Store.PurgeSessions(ctx, maxPurge); err != nil {
		c.deps.Logger.WarnContext(ctx, "expired console sessions not purged", "error", err.Error())
	}
	if err := c.deps.Store.CreateSession(ctx, rec); err != nil {
		return Principal{}, err
	}
	c.setCookie(w, r, c.cookieName(r), secret, int(c.deps.Lifetime/time.Second))
	return p, nil
}

// who names a principal in the log: "admin" or "curator:<id>", as the
// API does.
func who(p Principal) string {
	if p.Admin {
		return "admin"
	}
	return "curator:" + p.Curator.ID
}

const (
	ctxSession   = "console_session"
	ctxRequestID = "console_request_id"
)

// requireSession lets through requests with a live session and stores it
// in c. Without one, a page read is sent to the sign-in page (which comes
// back to it), and anything else is refused.
func (h *handler) requireSession(c *gin.Context) {
	s, err := h.session(c.Request)
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		if c.Request.Method == http.MethodGet {
			c.Redirect(http.StatusSeeOther, "/console/login?next="+urlQueryEscape(c.Request.URL.RequestURI()))
		} else {
			h.refuse(c.Writer, c.Request, http.StatusForbidden, "Your session has ended or was signed out, so this was not done. Sign in again and repeat it.")
		}
		c.Abort()
		return
	case err != nil:
		h.fail(c, err)
		c.Abort()
		return
	}
	c.Set(ctxSession, s)
	// The request's id, for the API calls it makes (which may run at
	// once: the response's headers are not to be read from them).
	c.Set(ctxRequestID, c.Writer.Header().Get("X-Request-Id"))
	c.Next()
}

// sess is the session requireSession stored.
func sess(c *gin.Context) session {
	v, _ := c.Get(ctxSession)
	s, _ := v.(session)
	return s
}

// checkForm guards every state-changing form: the browser says it came
// from this site (http.CrossOriginProtection: Sec-Fetch-Site or Origin),
// and it carries the session's CSRF token. It runs after requireSession.
func (h *handler) checkForm(c *gin.Context) {
	if err := h.cop.Check(c.Request); err != nil {
		h.refuse(c.Writer, c.Request, http.StatusForbidden, "This form came from another site, so it was not accepted.")
		c.Abort()
		return
	}
	got := c.PostForm("csrf")
	if subtle.ConstantTimeCompare([]byte(got), []byte(sess(c).rec.CSRF)) != 1 || got == "" {
		h.refuse(c.Writer, c.Request, http.StatusForbidden, "This form has expired or did not come from the console, so it was not accepted. Go back, reload the page and try again.")
		c.Abort()
		return
	}
	c.Next()
}

// safeNext is where to go after signing in: a console path of this site,
// else the console's home.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "/console//") && !strings.ContainsAny(next, "\\\r\n") &&
		!strings.HasPrefix(next, "/console/login") && !strings.HasPrefix(next, "/console/logout") && len(next) <= 1000 {
		return next
	}
	return "/console/"
}

// getLogin shows the sign-in form, with a fresh login CSRF cookie (the
// double-submit token: no session exists yet to hold one).
func (h *handler) getLogin(c *gin.Context) {
	if _, err := h.session(c.Request); err == nil {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	h.loginPage(c, http.StatusOK, "", c.Query("next"))
}

// loginPage renders the sign-in form with problem, if any, coming back to
// next once signed in.
func (h *handler) loginPage(c *gin.Context, status int, problem, next string) {
	tok, err := randomToken()
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setCookie(c.Writer, c.Request, h.loginCookieName(c.Request), tok, 3600)
	h.render(c, status, "login", view{Title: "Sign in", CSRF: tok, Problem: problem,
		Data: map[string]string{"Next": safeNext(next)}})
}

func (h *handler) loginCookieName(r *http.Request) string {
	if h.secure(r) {
		return secureLoginCookie
	}
	return loginCookie
}

// postLogin signs in with a pasted token and goes to the page asked for.
func (h *handler) postLogin(c *gin.Context) {
	if err := h.cop.Check(c.Request); err != nil {
		h.refuse(c.Writer, c.Request, http.StatusForbidden, "This form came from another site, so it was not accepted.")
		return
	}
	ck, err := c.Request.Cookie(h.loginCookieName(c.Request))
	got := c.PostForm("csrf")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) != 1 {
		h.loginPage(c, http.StatusForbidden, "The sign-in form had expired. Paste your token again.", c.PostForm("next"))
		return
	}
	p, err := h.signIn(c.Writer, c.Request, strings.TrimSpace(c.PostForm("token")))
	if errors.Is(err, tablestore.ErrNotFound) {
		h.deps.Logger.InfoContext(c.Request.Context(), "console sign-in refused")
		h.loginPage(c, http.StatusUnauthorized, "That token was not accepted. Check that you pasted all of it; if it was replaced or revoked, ask the administrator for a new one.", c.PostForm("next"))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setCookie(c.Writer, c.Request, h.loginCookieName(c.Request), "", -1)
	h.deps.Logger.InfoContext(c.Request.Context(), "console sign-in", "by", who(p))
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

// postLogout ends the session: its record is deleted, so the cookie is
// worthless even if it was copied.
func (h *handler) postLogout(c *gin.Context) {
	s := sess(c)
	ctx := context.WithoutCancel(c.Request.Context())
	if err := h.deps.Store.DeleteSession(ctx, s.rec.ID); err != nil {
		h.fail(c, err)
		return
	}
	h.setCookie(c.Writer, c.Request, h.cookieName(c.Request), "", -1)
	h.deps.Logger.InfoContext(ctx, "console sign-out", "by", who(s.Principal))
	c.Redirect(http.StatusSeeOther, "/console/login?done=signed-out")
}
