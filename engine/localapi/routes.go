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
	mux.HandleFunc("POST "+apitype.PathAdvertise, s.change(s.advertise))
	mux.HandleFunc("POST "+apitype.PathRouteApprove, s.change(s.approveRoute))
	mux.HandleFunc("POST "+apitype.PathRoutesAccept, s.change(s.acceptRoutes))
	mux.HandleFunc("POST "+apitype.PathExitNode, s.change(s.exitNode))
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

func (s *Server) advertise(w http.ResponseWriter, r *http.Request) error {
	var req apitype.AdvertiseRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rb, err := s.routeBackend()
	if err != nil {
		return err
	}
	out, err := rb.Advertise(req)
	if err != nil {
		return err
	}
	writeJSON(w, out)
	return nil
}

func (s *Server) approveRoute(w http.ResponseWriter, r *http.Request) error {
	var req apitype.ApproveRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rb, err := s.routeBackend()
	if err != nil {
		return err
	}
	host, err := rb.ApproveRoute(req)
	if err != nil {
		return err
	}
	writeJSON(w, apitype.RemoveResponse{Hostname: host})
	return nil
}

func (s *Server) acceptRoutes(w http.ResponseWriter, r *http.Request) error {
	var req apitype.AcceptRoutesRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rb, err := s.routeBackend()
	if err != nil {
		return err
	}
	if err := rb.SetAcceptRoutes(req.Accept); err != nil {
		return err
	}
	writeJSON(w, struct{}{})
	return nil
}

func (s *Server) exitNode(w http.ResponseWriter, r *http.Request) error {
	var req apitype.ExitNodeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	rb, err := s.routeBackend()
	if err != nil {
		return err
	}
	st, err := rb.UseExitNode(req.Peer, req.AllowLAN)
	if err != nil {
		return err
	}
	writeJSON(w, st)
	return nil
}
