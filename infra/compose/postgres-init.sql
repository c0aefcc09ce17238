-- One database and one role per service (docker compose; the same layout
-- that `npm run infra` and `npm start` create). Local development only:
-- each role's password is its name.
CREATE ROLE user_service LOGIN PASSWORD 'user_service';
CREATE ROLE order_service LOGIN PASSWORD 'order_service';
CREATE ROLE notification_service LOGIN PASSWORD 'notification_service';
-- The shared-database style: order-service may read one view of users, nothing else.
CREATE ROLE users_reader LOGIN PASSWORD 'users_reader';
CREATE DATABASE users OWNER user_service;
CREATE DATABASE orders OWNER order_service;
CREATE DATABASE notifications OWNER notification_service;
