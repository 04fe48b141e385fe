"""The backend's HTTP API as the technician's CLI uses it (bearer token)."""

import httpx

from noxus_provision.errors import BackendRefused, ProvisionError

TIMEOUT_S = 40.0  # above the backend's 30 s long poll


class Backend:
    def __init__(self, url: str, token: str | None):
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT_S)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, expect=(200, 201), **kw) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ProvisionError(
                f"cannot reach the backend at {self.url} ({type(e).__name__}): check --api "
                "and the network, then rerun the same command"
            ) from None
        if r.status_code in expect:
            return r
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text[:200]
        if r.status_code == 401:
            raise BackendRefused(
                f"the backend refused your token ({detail}). Create a technician token "
                "with `noxus token create` and pass it in NOXUS_TOKEN."
            )
        if r.status_code == 403:
            raise BackendRefused(f"your account may not do this: {detail}")
        raise BackendRefused(f"the backend said no ({r.status_code}): {detail}")

    def enroll(
        self,
        board_uid: str,
        site_id: int,
        customer_id: int | None,
        kiosk_id: str | None,
        name: str,
        model: str,
    ) -> dict:
        body = {
            "board_uid": board_uid,
            "site_id": site_id,
            "customer_id": customer_id,
            "kiosk_id": kiosk_id,
            "name": name,
            "model": model,
        }
        return self._call("POST", "/api/v1/enrollment/kiosks", json=body).json()

    def state(self, kiosk_id: str) -> dict | None:
        return self._call("GET", f"/api/v1/enrollment/kiosks/{kiosk_id}/state").json()["state"]

    def birth(self, kiosk_id: str, not_boot: int | None, timeout: float) -> dict | None:
        params = {"timeout": timeout}
        if not_boot is not None:
            params["not_boot"] = not_boot
        return self._call("GET", f"/api/v1/enrollment/kiosks/{kiosk_id}/birth", params=params).json()["state"]

    def revoke(self, kiosk_id: str) -> None:
        self._call("DELETE", f"/api/v1/enrollment/kiosks/{kiosk_id}/credentials", expect=(204,))

    def enroll_tap(self, kiosk_id: str, timeout: float) -> str | None:
        """Enrollment mode on the kiosk; the next tapped UID, or None after `timeout`."""
        return self._call(
            "POST", f"/api/v1/enrollment/kiosks/{kiosk_id}/enroll-tap", json={"timeout_s": timeout}
        ).json()["uid"]

    def assign_badge(self, uid: str, employee_id: int) -> dict:
        return self._call("POST", "/api/v1/hr/badges", json={"uid": uid, "employee_id": employee_id}).json()

    # claim codes: the kiosk's side (no token) and staff's side
    def open_claim(self, board_uid: str, code: str, model: str) -> None:
        self._call(
            "POST",
            "/api/v1/enrollment/claims",
            expect=(202,),
            json={"board_uid": board_uid, "code": code, "model": model},
        )

    def redeem_claim(self, board_uid: str, code: str) -> dict | None:
        r = self._call(
            "POST",
            "/api/v1/enrollment/claims/redeem",
            expect=(200, 202),
            json={"board_uid": board_uid, "code": code},
        )
        return r.json() if r.status_code == 200 else None

    def approve_claim(self, code: str, site_id: int, customer_id: int | None, name: str) -> dict:
        return self._call(
            "POST",
            "/api/v1/enrollment/claims/approve",
            json={"code": code, "site_id": site_id, "customer_id": customer_id, "name": name},
        ).json()

    def claims(self) -> list[dict]:
        return self._call("GET", "/api/v1/enrollment/claims").json()
