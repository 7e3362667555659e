package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// curatorInput is the body of POST /api/curators.
type curatorInput struct {
	Name string   `json:"name"`
	Hubs []string `json:"hubs"`
}

// curatorToken is the answer that carries a token: shown once, never
// stored.
type curatorToken struct {
	ID    string   `json:"id"`
	Token string   `json:"token"`
	Name  string   `json:"name"`
	Hubs  []string `json:"hubs"`
}

// getCurators lists the curators a page at a time, without their tokens
// (administrator only).
func (s *Server) getCurators(c *gin.Context) {
	pg, err := bindPage(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	curators, next, err := s.deps.Store.ListCurators(c.Request.Context(), pg.after, pg.limit)
	if err != nil {
		_ = c.Error(err)
		return
	}
	if curators == nil {
		curators = []tablestore.Curator{}
	}
	c.JSON(http.StatusOK, gin.H{"curators": curators, "next": next})
}

// postCurator creates a curator for a set of existing hubs and returns
// its token, once (administrator only). Only the token's hash is stored.
func (s *Server) postCurator(c *gin.Context) {
	var in curatorInput
	if err := bindJSON(c, &in); err != nil {
		_ = c.Error(err)
		return
	}
	ctx := c.Request.Context()
	cur, token, err := s.deps.Store.CreateCurator(ctx, in.Name, in.Hubs)
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "curator created", "curator_id", cur.ID, "hubs", cur.Hubs, "by", who(c).name())
	c.JSON(http.StatusCreated, curatorToken{ID: cur.ID, Token: token, Name: cur.Name, Hubs: cur.Hubs})
}

// postCuratorToken gives a curator a new token and returns it, once
// (administrator only). The old token stops working at once.
func (s *Server) postCuratorToken(c *gin.Context) {
	ctx := c.Request.Context()
	cur, token, err := s.deps.Store.RotateCuratorToken(ctx, c.Param("id"))
	if err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "curator token rotated", "curator_id", cur.ID, "by", who(c).name())
	c.JSON(http.StatusOK, curatorToken{ID: cur.ID, Token: token, Name: cur.Name, Hubs: cur.Hubs})
}

// deleteCurator revokes a curator's token (administrator only).
func (s *Server) deleteCurator(c *gin.Context) {
	ctx := c.Request.Context()
	if err := s.deps.Store.DeleteCurator(ctx, c.Param("id")); err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "curator revoked", "curator_id", c.Param("id"), "by", who(c).name())
	c.Status(http.StatusNoContent)
}
