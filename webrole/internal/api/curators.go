package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// curatorInput is the body of POST /api/curators.
type curatorInput struct {
	Name string   `json:"name"`
	Hubs []string `json:"hubs"`
}

// postCurator creates a curator for a set of hubs and returns its token,
// once (administrator only). Only the token's hash is stored.
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
	s.deps.Logger.InfoContext(ctx, "curator created", "curator_id", cur.ID, "hubs", cur.Hubs)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"id": cur.ID, "token": token, "name": cur.Name, "hubs": cur.Hubs})
}

// deleteCurator revokes a curator's token (administrator only).
func (s *Server) deleteCurator(c *gin.Context) {
	ctx := c.Request.Context()
	if err := s.deps.Store.DeleteCurator(ctx, c.Param("id")); err != nil {
		_ = c.Error(err)
		return
	}
	s.deps.Logger.InfoContext(ctx, "curator revoked", "curator_id", c.Param("id"))
	c.Status(http.StatusNoContent)
}
