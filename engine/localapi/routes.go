package localapi

import (
	"errors"
	"net/http"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// RouteBackend is the part of a Backend that serves exit nodes and subnet
// routes; *engine.Engine implements it. A Backend without it answers
// these endpoints with an error.
type RouteBackend interface {
	Advertise(apitype.AdvertiseRequest) (apitype.Offer, error)
	NetworkRoutes(network string) (apitype.NetworkRoutes, error)
	ApproveRoute(apitype.ApproveRequest) (hostname string, err error)
	SetAcceptRoutes(accept bool) error
	ExitNodes() []apitype.ExitNodeInfo
	UseExitNode(peer string, allowLAN bool) (*apitype.ExitNode, error)
}

var errNoRoutes = errors.New("this daemon does not route for members")

func (s *Server) routeBackend() (RouteBackend, error) {
	rb, ok := s.b.(RouteBackend)
	if !ok {
		return nil, errNoRoutes
	}
	return rb, nil
}

func (s *Server) handleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+apitype.PathRoutes, s.networkRoutes)
	mux.HandleFunc("GET "+apitype.PathExitNodes, s.exitNodes)
	mux.HandleFunc("POST "+apitype.PathAdvertise, s.change(routeChange(s, advertise)))
	mux.HandleFunc("POST "+apitype.PathRouteApprove, s.change(routeChange(s, approveRoute)))
	mux.HandleFunc("POST "+apitype.PathRoutesAccept, s.change(routeChange(s, acceptRoutes)))
	mux.HandleFunc("POST "+apitype.PathExitNode, s.change(routeChange(s, exitNode)))
}

// networkRoutes is a read: offers and approvals are no secret to members.
func (s *Server) networkRoutes(w http.ResponseWriter, r *http.Request) {
	var req apitype.NetworkRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	rb, err := s.routeBackend()
	if err != nil {
		writeErr(w, http.StatusNotImplemented, err)
		return
	}
	out, err := rb.NetworkRoutes(req.Network)
	if err != nil {
		writeErr(w, http.StatusNotFound, err)
		return
	}
	writeJSON(w, out)
}

func (s *Server) exitNodes(w http.ResponseWriter, r *http.Request) {
	rb, err := s.routeBackend()
	if err != nil {
		writeErr(w, http.StatusNotImplemented, err)
		return
	}
	writeJSON(w, rb.ExitNodes())
}

// routeChange is a change handler: decode a Req, call fn on the route
// backend, answer with what it returns.
func routeChange[Req, Resp any](s *Server, fn func(RouteBackend, Req) (Resp, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req Req
		if err := decode(r, &req); err != nil {
			return err
		}
		rb, err := s.routeBackend()
		if err != nil {
			return err
		}
		resp, err := fn(rb, req)
		if err != nil {
			return err
		}
		writeJSON(w, resp)
		return nil
	}
}

func advertise(rb RouteBackend, req apitype.AdvertiseRequest) (apitype.Offer, error) {
	return rb.Advertise(req)
}

func approveRoute(rb RouteBackend, req apitype.ApproveRequest) (apitype.RemoveResponse, error) {
	host, err := rb.ApproveRoute(req)
	return apitype.RemoveResponse{Hostname: host}, err
}

func acceptRoutes(rb RouteBackend, req apitype.AcceptRoutesRequest) (struct{}, error) {
	return struct{}{}, rb.SetAcceptRoutes(req.Accept)
}

func exitNode(rb RouteBackend, req apitype.ExitNodeRequest) (*apitype.ExitNode, error) {
	return rb.UseExitNode(req.Peer, req.AllowLAN)
}
