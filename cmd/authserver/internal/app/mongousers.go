package app

import (
	"context"
	"errors"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoUsers is a UserStore in a MongoDB collection laid out as the Node
// app's Mongoose model stored it ("users": {_id, username, password}), plus
// a lower-cased username_key. Documents written by the Node app, which lack
// username_key, are found by their exact username.
type mongoUsers struct {
	coll *mongo.Collection
}

type mongoUser struct {
	ID          bson.ObjectID `bson:"_id"`
	Username    string        `bson:"username"`
	UsernameKey string        `bson:"username_key,omitempty"`
	Password    string        `bson:"password"`
	CreatedAt   time.Time     `bson:"createdAt,omitempty"`
	// CredentialVersion and Disabled are absent from the Node app's
	// documents, which read as version 0, enabled.
	CredentialVersion int64 `bson:"credentialVersion,omitempty"`
	Disabled          bool  `bson:"disabled,omitempty"`
}

func newMongoUsers(ctx context.Context, db *mongo.Database) (*mongoUsers, error) {
	coll := db.Collection("users")
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "username_key", Value: 1}},
		Options: options.Index().SetUnique(true).SetName("username_key_unique").
			SetPartialFilterExpression(bson.D{{Key: "username_key", Value: bson.D{{Key: "$exists", Value: true}}}}),
	})
	if err != nil {
		// FerretDB v1 has no partial indexes; a sparse unique index does the same job.
		_, err = coll.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    bson.D{{Key: "username_key", Value: 1}},
			Options: options.Index().SetUnique(true).SetName("username_key_unique_sparse"),
		})
	}
	if err != nil {
		return nil, err
	}
	return &mongoUsers{coll: coll}, nil
}

func (m *mongoUsers) find(ctx context.Context, filter bson.D) (*User, error) {
	var doc mongoUser
	err := m.coll.FindOne(ctx, filter).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	created := doc.CreatedAt
	if created.IsZero() {
		created = doc.ID.Timestamp()
	}
	return &User{ID: doc.ID.Hex(), Username: doc.Username, PasswordHash: doc.Password, CreatedAt: created,
		CredentialVersion: doc.CredentialVersion, Disabled: doc.Disabled}, nil
}

func (m *mongoUsers) ByUsername(ctx context.Context, username string) (*User, error) {
	u, err := m.find(ctx, bson.D{{Key: "username_key", Value: usernameKey(username)}})
	if u != nil || err != nil {
		return u, err
	}
	// A user created by the Node app, which has no username_key: match the
	// name ignoring case, as the key would.
	return m.find(ctx, bson.D{
		{Key: "username", Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(username) + "$", Options: "i"}},
		{Key: "username_key", Value: bson.D{{Key: "$exists", Value: false}}},
	})
}

func (m *mongoUsers) ByID(ctx context.Context, id string) (*User, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return nil, nil
	}
	return m.find(ctx, bson.D{{Key: "_id", Value: oid}})
}

func (m *mongoUsers) Create(ctx context.Context, u *User) error {
	// A legacy document with the same exact name also counts.
	if legacy, err := m.ByUsername(ctx, u.Username); err != nil {
		return err
	} else if legacy != nil {
		return ErrUsernameTaken
	}
	doc := mongoUser{ID: bson.NewObjectID(), Username: u.Username, UsernameKey: usernameKey(u.Username),
		Password: u.PasswordHash, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if _, err := m.coll.InsertOne(ctx, doc); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return ErrUsernameTaken
		}
		return err
	}
	u.ID, u.CreatedAt = doc.ID.Hex(), doc.CreatedAt
	return nil
}

func (m *mongoUsers) SetPasswordHash(ctx context.Context, id, hash string) (int64, error) {
	doc, err := m.bump(ctx, id, bson.D{{Key: "password", Value: hash}})
	if err != nil {
		return 0, err
	}
	return doc.CredentialVersion, nil
}

func (m *mongoUsers) RehashPassword(ctx context.Context, id, oldHash, newHash string) error {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return err
	}
	_, err = m.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: oid}, {Key: "password", Value: oldHash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "password", Value: newHash}}}})
	return err
}

func (m *mongoUsers) SetDisabled(ctx context.Context, id string, disabled bool) error {
	_, err := m.bump(ctx, id, bson.D{{Key: "disabled", Value: disabled}})
	return err
}

// bump sets fields of user id and increments its credential version in
// one atomic update, returning the document as updated.
func (m *mongoUsers) bump(ctx context.Context, id string, set bson.D) (*mongoUser, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return nil, errNoSuchUser
	}
	var doc mongoUser
	err = m.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: oid}},
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: "credentialVersion", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	return &doc, nil
}

func (m *mongoUsers) Ping(ctx context.Context) error {
	return m.coll.Database().Client().Ping(ctx, nil)
}

// Close does nothing: the client is closed by whoever opened it.
func (m *mongoUsers) Close() error { return nil }
