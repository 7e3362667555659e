package api

import "github.com/elmcity/elmcity/webrole/internal/outputs"

// routes registers every route, grouped by audience, each group with its
// own middleware.
func (s *Server) routes() {
	e := s.engine
	e.Use(securityHeaders())
	e.Use(s.recovery(), requestID(), s.metrics.observe(), s.accessLog(), s.limitBody(), s.errorMiddleware())
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)

	// Operators: probes. Metrics are not here: MetricsHandler serves
	// them on a listener of their own.
	e.GET("/healthz", s.getHealthz)
	e.GET("/readyz", s.getReadyz)
	e.GET("/api/openapi.json", publicCORS, getOpenAPI)

	// Curators and the administrator: the REST API, bearer tokens only.
	authed := e.Group("/api", noStore, s.authenticate())
	authed.GET("/hubs", s.getHubs)
	authed.GET("/curators", requireAdmin, s.getCurators)
	authed.POST("/curators", requireAdmin, s.postCurator)
	authed.DELETE("/curators/:id", requireAdmin, s.deleteCurator)
	authed.POST("/curators/:id/token", requireAdmin, s.postCuratorToken)

	hubs := authed.Group("/hubs/:hub", requireHub)
	hubs.GET("", s.getHub)
	hubs.PUT("", s.putHub)
	hubs.PATCH("", s.patchHub)
	hubs.DELETE("", requireAdmin, s.deleteHub)
	hubs.GET("/feeds", s.getFeeds)
	hubs.POST("/feeds", s.postFeed)
	hubs.GET("/feeds/:feed", s.getFeed)
	hubs.PUT("/feeds/:feed", s.putFeed)
	hubs.PATCH("/feeds/:feed", s.patchFeed)
	hubs.DELETE("/feeds/:feed", s.deleteFeed)
	hubs.POST("/aggregate", s.postAggregate)
	hubs.GET("/logs", s.getLogs)
	hubs.GET("/stats", s.getStats)
	hubs.POST("/check", s.postCheck)
	hubs.GET("/jobs/:job", s.getJob)
	hubs.GET("/history", s.getHistory)

	// Curators in a browser: the console's pages, which read and write
	// through this API in process, as the signed-in principal.
	console := s.consoleHandler()
	e.GET("/console", console)
	e.GET("/console/*path", console)
	e.POST("/console/*path", console)

	// The public: the home page (the hubs, and a search over their
	// titles), the hub page, and at /services/{hub}/{format} the
	// calendar in every format (no token, CORS *). The same path runs the
	// original service's script-backed queries for curators; built-in
	// formats win, so no script can shadow one, and getService authorizes
	// script runs by itself.
	//
	// Every public output is open to any origin (outputCORS, also on its
	// errors) and answers a CORS preflight. /{hub}/{format} is an alias of
	// /services/{hub}/{format}, and /{hub}/{format}/soon redirects to the
	// next hours or days, as the original elmcity's URLs did.
	e.GET("/", s.getHome)
	e.GET("/:hub", outputCORS, s.getHubPage)
	for _, f := range outputs.Formats() {
		e.GET("/services/:hub/"+f, outputCORS, s.getFormat(f))
	}
	e.GET("/services/:hub/embed.js", outputCORS, s.getEmbedScript)
	e.GET("/services/:hub/:what", outputCORS, s.getService)
	e.GET("/:hub/:what", outputCORS, s.getOutputAlias)
	e.GET("/:hub/:what/soon", outputCORS, s.getOutputSoon)
	for _, p := range []string{"/:hub", "/services/:hub/:what", "/:hub/:what", "/:hub/:what/soon"} {
		e.OPTIONS(p, preflight)
	}
}
