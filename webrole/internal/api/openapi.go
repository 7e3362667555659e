package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI documents every route; a test keeps it in step with routes.go.
//
//go:embed openapi.json
var openAPI []byte

// getOpenAPI serves the OpenAPI 3.1 document.
func getOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPI)
}
