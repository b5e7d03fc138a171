#!/bin/sh
# Starts mariadbd the way the official image's users expect. The users and the database the
# environment asks for are made by an --init-file, run before the server accepts
# connections: when "ready for connections" is logged, they exist.
set -eu

init=/run/mysqld/init.sql
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld

quote() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }

{
  if [ -n "${MARIADB_ROOT_PASSWORD:-}" ]; then
    password="$(quote "$MARIADB_ROOT_PASSWORD")"
    echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${password}';"
    echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
  elif [ -n "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ]; then
    echo "CREATE USER IF NOT EXISTS 'root'@'%';"
    echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
  else
    echo "mariadb-entrypoint: set MARIADB_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1" >&2
    exit 1
  fi
  if [ -n "${MARIADB_DATABASE:-}" ]; then
    echo "CREATE DATABASE IF NOT EXISTS \`$(printf '%s' "$MARIADB_DATABASE" | tr -d '`')\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  fi
  # The initdb scripts run once, on the first start of this container.
  if [ ! -e /var/lib/mysql/.initdb-done ]; then
    for f in /docker-entrypoint-initdb.d/*.sql; do
      [ -e "$f" ] && cat "$f" && echo
    done
  fi
} > "$init"
chown mysql:mysql "$init"
touch /var/lib/mysql/.initdb-done

exec mariadbd --user=mysql --bind-address=0.0.0.0 --port=3306 --skip-name-resolve \
  --skip-log-bin --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
  --init-file="$init" "$@"
