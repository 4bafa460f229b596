package localapi

import (
	"net/http"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Network administration handlers: each needs change rights, and the
// engine checks that this node admins the network.

func (s *Server) remove(w http.ResponseWriter, r *http.Request) error {
	var req apitype.RemoveRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	resp, err := s.b.RemovePeer(req.Network, req.Peer)
	if err != nil {
		return err
	}
	writeJSON(w, resp)
	return nil
}

// invites lists outstanding invites. It needs change rights although it
// changes nothing: invite ids are what revoking takes.
func (s *Server) invites(w http.ResponseWriter, r *http.Request) error {
	var req apitype.NetworkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	list, err := s.b.Invites(req.Network)
	if err != nil {
		return err
	}
	writeJSON(w, list)
	return nil
}

func (s *Server) revokeInvite(w http.ResponseWriter, r *http.Request) error {
	var req apitype.DecideRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.b.RevokeInvite(req.Network, req.ID); err != nil {
		return err
	}
	writeJSON(w, struct{}{})
	return nil
}

func (s *Server) hostname(w http.ResponseWriter, r *http.Request) error {
	var req apitype.HostnameRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.b.SetHostname(r.Context(), req.Network, req.Hostname); err != nil {
		return err
	}
	writeJSON(w, struct{}{})
	return nil
}

func (s *Server) setAdmin(w http.ResponseWriter, r *http.Request) error {
	var req apitype.AdminRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	host, err := s.b.SetAdmin(req.Network, req.Peer, req.Admin)
	if err != nil {
		return err
	}
	writeJSON(w, apitype.RemoveResponse{Hostname: host})
	return nil
}

func (s *Server) rekey(w http.ResponseWriter, r *http.Request) error {
	var req apitype.NetworkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	resp, err := s.b.Rekey(req.Network)
	if err != nil {
		return err
	}
	writeJSON(w, resp)
	return nil
}

func (s *Server) deleteNetwork(w http.ResponseWriter, r *http.Request) error {
	var req apitype.NetworkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.b.DeleteNetwork(req.Network); err != nil {
		return err
	}
	writeJSON(w, struct{}{})
	return nil
}
