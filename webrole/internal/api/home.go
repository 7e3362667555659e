package api

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
)

// maxHomeQuery bounds the home page's search, in characters.
const maxHomeQuery = 100

// getHome serves GET /: the hubs, paged, or those whose title (or id)
// holds q.
func (s *Server) getHome(c *gin.Context) {
	q := strings.TrimSpace(c.Query("q"))
	after := c.Query("after")
	bad := func(param, reason string) {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "query parameter " + param + ": " + reason, Fields: map[string]string{param: reason}})
	}
	switch {
	case utf8.RuneCountInString(q) > maxHomeQuery || !utf8.ValidString(q):
		bad("q", "at most "+strconv.Itoa(maxHomeQuery)+" characters")
		return
	case after != "" && !hub.ValidID(after):
		bad("after", "must be the next of the previous page")
		return
	}
	out, err := s.outputs.Home(c.Request.Context(), q, after)
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeOutput(c, out)
}
