package api

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

	// The public: the hub page, and at /services/{hub}/{format} the
	// calendar in every format (no token, CORS *). The same path runs the
	// original service's script-backed queries for curators; built-in
	// formats win, so no script can shadow one, and getService authorizes
	// script runs by itself.
	e.GET("/:hub", s.getHubPage)
	e.GET("/services/:hub/:what", s.getService)
}
