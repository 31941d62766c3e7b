# shellcheck shell=bash
# Images for deploy/engine/check.sh, all made here (Docker Hub is out of reach): a Debian base
# from debootstrap, the stand-in for the Dockerfile's Python base tagged with the exact FROM
# name, the stand-in for the official postgres image, and the project's image from its
# unedited Dockerfile. Sourced, not run.
#
# Only the debootstrap root is cached between runs, in ENGINE_CACHE outside the clone, keyed by
# the Debian release, variant and mirror, and rebuilt after a week: the stand-ins and the
# project's image are built on every run, so a cache can never hide a change to the
# Dockerfile, its FROM line or a stand-in's recipe.

ENGINE_CACHE="${MINITWIT_ENGINE_CACHE:-/var/cache/minitwit-engine}"
ENGINE_CACHE_DAYS=7
# The version of the recipe below: part of the cache key.
ENGINE_ROOTFS_RECIPE="debootstrap --variant=minbase, slimmed, v2"

# The Debian archive this machine's apt uses (DEBIAN_MIRROR overrides it).
images_debian_mirror() {
    if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    local codename mirror
    codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)"
    # shellcheck disable=SC2016  # apt's own $(FIELD) syntax, not the shell's
    mirror="$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
        awk -v suite="$codename" '$1 == suite {print $2; exit}')"
    echo "${mirror:-http://deb.debian.org/debian/}"
}

# local/debian:SUITE from a debootstrap root (cached as a tar file).
images_debian_base() {
    local suite="$1" mirror key tarball
    mirror="$(images_debian_mirror)"
    key="$(printf '%s\n' "$suite" "$mirror" "$ENGINE_ROOTFS_RECIPE" | sha256sum | cut -c1-16)"
    tarball="$ENGINE_CACHE/debian-$suite-$key.tar"
    mkdir -p "$ENGINE_CACHE"
    if [[ -s "$tarball" ]] && [[ -n "$(find "$tarball" -mtime "-$ENGINE_CACHE_DAYS")" ]]; then
        engine_log "Debian $suite root from the cache ($tarball)"
    else
        engine_log "debootstrap of Debian $suite from $mirror"
        local root="$ENGINE_DIR/rootfs-$suite"
        debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$ENGINE_DIR/debootstrap-$suite.log" 2>&1 || {
            tail -n 20 "$ENGINE_DIR/debootstrap-$suite.log" >&2
            return 1
        }
        images_slim_root "$root"
        rm -f "$ENGINE_CACHE/debian-$suite-"*.tar
        tar -C "$root" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
        rm -rf --one-file-system "$root"
    fi
    docker import "$tarball" "local/debian:$suite" >/dev/null
}

# Slim, like the official *-slim images: no package caches, lists, manuals, docs (but their
# copyright files) or translations, now and for every package installed later. Halves the
# root (206 -> about 100 MB), which every image here builds on and the registry stores.
images_slim_root() {
    local root="$1"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
        "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
    find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    cat >"$root/etc/dpkg/dpkg.cfg.d/minitwit-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
EOF
    echo 'APT::Keep-Downloaded-Packages "false";' >"$root/etc/apt/apt.conf.d/minitwit-no-cache"
}

# Every distinct base image the Dockerfile names in FROM (not stage names).
images_dockerfile_bases() {
    awk 'toupper($1) == "FROM" {
            for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break }
         }' Dockerfile | sort -u
}

# A stand-in for each python:X.Y[.Z]-slim-SUITE the Dockerfile uses, tagged with that name.
# Any other base image stops the check: there is no recipe for it here.
images_python_standins() {
    local name version suite context
    for name in $(images_dockerfile_bases); do
        if [[ ! "$name" =~ ^python:([0-9]+\.[0-9]+)(\.[0-9]+)?-slim-([a-z]+)$ ]]; then
            engine_log "no stand-in recipe for the base image $name (Dockerfile FROM)"
            return 1
        fi
        version="${BASH_REMATCH[1]}"
        suite="${BASH_REMATCH[3]}"
        docker image inspect "local/debian:$suite" >/dev/null 2>&1 || images_debian_base "$suite"
        context="$ENGINE_DIR/python-base-context"
        rm -rf "$context"
        mkdir -p "$context/ca-certificates"
        cp deploy/engine/python-base/Dockerfile "$context/"
        # The egress proxy's certificate authorities, when this machine has any.
        find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$context/ca-certificates/" \; 2>/dev/null || true
        engine_log "stand-in $name: Debian $suite's Python $version"
        images_build --build-arg "DEBIAN_IMAGE=local/debian:$suite" \
            --build-arg "PYTHON_VERSION=$version" --tag "$name" "$context"
        # shellcheck disable=SC2034  # read by check.sh
        ENGINE_PYTHON_IMAGE="$name"
    done
}

images_postgres() {
    local suite="$1" tag="$2"
    docker image inspect "local/debian:$suite" >/dev/null 2>&1 || images_debian_base "$suite"
    images_build --build-arg "DEBIAN_IMAGE=local/debian:$suite" --tag "$tag" deploy/engine/postgres
}

images_redis() {
    local suite="$1" tag="$2"
    docker image inspect "local/debian:$suite" >/dev/null 2>&1 || images_debian_base "$suite"
    images_build --build-arg "DEBIAN_IMAGE=local/debian:$suite" --tag "$tag" deploy/engine/redis
}

# docker build with its output kept for a failure: the legacy builder's deprecation notice
# would otherwise fill the log of every successful run.
images_build() {
    local log
    log="$(mktemp "$ENGINE_DIR/build.XXXXXX")"
    DOCKER_BUILDKIT=0 docker build --network=host "$@" >"$log" 2>&1 || {
        tail -n 40 "$log" >&2
        engine_log "docker build $* failed (log above)"
        return 1
    }
    rm -f "$log"
}

# The project's image, from the unedited Dockerfile, with the legacy builder (no BuildKit
# here; it ignores the `# syntax=` line).
images_app() {
    images_build --tag "$1" "${2:-.}"
}
