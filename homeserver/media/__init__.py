"""The media repository: uploads, downloads, thumbnails, URL previews and retention.

Spec: Client-Server API, "Content repository". Message content carries only `mxc://`
URIs; the bytes live here. `MediaRepository` is the component that routes call, built by
`clientapi.media.install` and registered as `services.components["media"]`.
"""
